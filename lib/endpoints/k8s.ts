/**
 * The `k8s` endpoint: a member pod, `{type: k8s, context, namespace, pod, container}`.
 *
 * bm reads, deletes and follows logs through its own API client (lib/kube-api.ts), which reads
 * the kubeconfig as kubectl does; docs/formations.md says why not through kubectl.
 *
 * Health, and the look for pods no record knows (lib/lifecycle/clusters.ts), read bm's pods,
 * ConfigMaps and Secrets in every namespace of a context with one look of three list requests,
 * shared by every endpoint there, so `bm status` costs one look per context, not one per member.
 * Of the ConfigMaps and Secrets only the metadata is asked for: a Secret's values never reach bm.
 * Every request has a total deadline (BM_K8S_TIMEOUT_MS, default 4000): a paused cluster
 * accepts connections and never answers.
 */
import { configMapName, MANAGED_BY, MEMBER_LABEL, podDrift, podHealth, SECRET, TEAM_LABEL, type Meta, type Pod } from '../../formations/k8s/kube.ts';
import { kubeJson, kubeRequest, type KubeRequestOptions } from '../kube-api.ts';
import { BmError } from '../output.ts';
import type { Endpoint } from '../schema.ts';
import type { Deployed, EndpointDriver, Health, StopOptions, StopResult } from './index.ts';

type K8sEndpoint = Extract<Endpoint, { type: 'k8s' }>;
type Where = Pick<K8sEndpoint, 'context' | 'namespace'>;

const looks = new Map<string, Promise<ContextObjects>>();

/** What one look at a namespace shows: bm's pods by name, and which of its ConfigMaps and Secrets exist. */
interface NamespaceState {
  pods: Map<string, Pod>;
  configMaps: Set<string>;
  secrets: Set<string>;
}

const emptyNamespace = (): NamespaceState => ({ pods: new Map(), configMaps: new Set(), secrets: new Set() });

/** bm's objects in every namespace of a context: its pods, and each namespace's state. */
interface ContextObjects {
  pods: Pod[];
  namespaces: Map<string, NamespaceState>;
}

function timeoutMs(): number {
  const ms = Number(process.env.BM_K8S_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 4000;
}

const BM_OBJECTS = `labelSelector=${encodeURIComponent(`app.kubernetes.io/managed-by=${MANAGED_BY}`)}`;
/** Only the metadata of each listed object: a Secret's values never reach bm. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** The list of bm's `plural` objects in every namespace of `context`. */
async function listAll<T>(context: string, plural: string, options: Partial<KubeRequestOptions> = {}): Promise<T[]> {
  const list = await kubeJson<{ items?: T[] }>(context, `/api/v1/${plural}?${BM_OBJECTS}`, { deadlineMs: timeoutMs(), ...options });
  if (!list) throw new Error(`the API server of context ${context} has no ${plural}`);
  return list.items ?? [];
}

/** The look at `context`: its pods in full, its ConfigMaps' and Secrets' metadata. */
async function look(context: string): Promise<ContextObjects> {
  const [pods, configMaps, secrets] = await Promise.all([
    listAll<Pod>(context, 'pods'),
    listAll<{ metadata: Meta }>(context, 'configmaps', { accept: METADATA_ONLY }),
    listAll<{ metadata: Meta }>(context, 'secrets', { accept: METADATA_ONLY }),
  ]);
  const found: ContextObjects = { pods, namespaces: new Map() };
  const stateOf = (meta: Meta) => {
    const namespace = meta.namespace ?? '';
    let state = found.namespaces.get(namespace);
    if (!state) found.namespaces.set(namespace, state = emptyNamespace());
    return state;
  };
  for (const pod of pods) stateOf(pod.metadata).pods.set(pod.metadata.name, pod);
  for (const { metadata } of configMaps) stateOf(metadata).configMaps.add(metadata.name);
  for (const { metadata } of secrets) stateOf(metadata).secrets.add(metadata.name);
  return found;
}

/** bm's objects in every namespace of `context`: one look, once per context and process. */
function contextObjects(context: string): Promise<ContextObjects> {
  let objects = looks.get(context);
  if (!objects) {
    objects = look(context);
    looks.set(context, objects);
  }
  return objects;
}

/**
 * Forgets this process's looks (and pod events), so the next question reads the cluster again:
 * for a process that keeps running, such as `bm console`, at each refresh of its view.
 */
export function forgetLooks(): void {
  looks.clear();
  podEvents.clear();
}

/** The namespace's pods, ConfigMaps and Secrets of bm. */
async function namespaceState(where: Where): Promise<NamespaceState> {
  return (await contextObjects(where.context)).namespaces.get(where.namespace) ?? emptyNamespace();
}

/**
 * Every pod of team `team` in any namespace of `context`, found by its labels (what the topology
 * does not record: an earlier namespace prefix, a deploy that failed part-way). `fresh` looks
 * again rather than reuse this process's look (after a deploy).
 */
export async function teamPods(context: string, team: string, fresh = false): Promise<Pod[]> {
  if (fresh) looks.delete(context);
  return (await contextObjects(context)).pods.filter((p) => p.metadata.labels?.[TEAM_LABEL] === team);
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** How a member's objects on the cluster differ from what was deployed, if they do. */
function driftOf(pod: Pod, state: NamespaceState, deployed: Deployed | undefined): string | undefined {
  if (!state.secrets.has(SECRET)) return `Secret ${SECRET} is missing`;
  const member = pod.metadata.labels?.[MEMBER_LABEL];
  if (member && !state.configMaps.has(configMapName(member))) return `ConfigMap ${configMapName(member)} is missing`;
  if (!deployed) return undefined;
  const why = podDrift(pod, { hash: text(deployed.config_hash), secretVersion: text(deployed.secret_version), image: text(deployed.image) });
  return why === 'config changed' ? 'its config differs from what was deployed' : why === 'credentials changed' ? 'it runs with other credentials than were deployed' : why;
}

/** The health of one pod, as bm status reports it. */
export function healthOfPod(pod: Pod): Health {
  if (pod.status?.phase === 'Succeeded') return { status: 'stopped', detail: 'the pod completed' };
  const { state, reason } = podHealth(pod);
  if (state === 'ready') return { status: 'running' };
  if (state === 'failed') return { status: 'error', detail: reason };
  // Running but not fully healthy yet: a detail on `running` says so.
  return { status: 'running', detail: `not ready yet (${reason})` };
}

/** The k8s endpoint driver. */
export const driver: EndpointDriver<K8sEndpoint> = {
  async health(endpoint, deployed?: Deployed): Promise<Health> {
    let state: NamespaceState;
    try {
      state = await namespaceState(endpoint);
    } catch (error) {
      return { status: 'unknown', detail: `could not reach context ${endpoint.context}: ${(error as Error).message}` };
    }
    const pod = state.pods.get(endpoint.pod);
    if (!pod) return { status: 'stopped', detail: `pod ${endpoint.pod} is gone` };
    const live = healthOfPod(pod);
    const drift = driftOf(pod, state, deployed);
    return drift && live.status === 'running' && !live.detail ? { status: 'running', detail: `drifted: ${drift}` } : live;
  },

  /**
   * Deletes the member's StatefulSet (its controller would otherwise make the pod again), its
   * pod and its ConfigMaps, then waits until the pod is gone.
   */
  async stop(endpoint, options: StopOptions): Promise<StopResult> {
    const ns = namespacePath(endpoint);
    const request = (apiPath: string, method: 'GET' | 'DELETE' = 'DELETE') => kubeJson<{ metadata?: Meta }>(endpoint.context, apiPath, { method, deadlineMs: timeoutMs() });
    let member = endpoint.pod;
    let pod: { metadata?: Meta } | null;
    let statefulSetDeleted = false;
    try {
      if (endpoint.statefulset) {
        const statefulSet = `/apis/apps/v1/namespaces/${encodeURIComponent(endpoint.namespace)}/statefulsets/${encodeURIComponent(endpoint.statefulset)}`;
        // Its member label says which ConfigMaps are the member's (a long name is shortened in the StatefulSet's).
        member = (await request(statefulSet, 'GET'))?.metadata?.labels?.[MEMBER_LABEL] ?? member;
        statefulSetDeleted = (await request(`${statefulSet}?propagationPolicy=Background`)) !== null;
      }
      // The garbage collector may have deleted the StatefulSet's pod already (a 404 here).
      pod = await request(`${ns}/pods/${encodeURIComponent(endpoint.pod)}${options.force ? '?gracePeriodSeconds=1' : ''}`);
    } catch (error) {
      return { outcome: 'failed', detail: `could not delete pod ${endpoint.pod}: ${(error as Error).message}` };
    }
    try {
      await request(`${ns}/configmaps?labelSelector=${encodeURIComponent(`${MEMBER_LABEL}=${member}`)}`);
    } catch (error) {
      return { outcome: 'failed', detail: `pod deleted, but not its ConfigMap: ${(error as Error).message}` };
    }
    if (!pod && !statefulSetDeleted) return { outcome: 'not-running' };
    // Gone when a look finds no pod of that name, or another one (its uid differs).
    const uid = pod?.metadata?.uid;
    const waitMs = options.timings.stopGraceMs;
    const until = Date.now() + waitMs;
    for (;;) {
      let now: { metadata?: Meta } | null;
      try {
        now = await request(`${ns}/pods/${encodeURIComponent(endpoint.pod)}`, 'GET');
      } catch (error) {
        return { outcome: 'failed', detail: `could not see whether pod ${endpoint.pod} is gone: ${(error as Error).message}` };
      }
      if (!now || (uid && now.metadata?.uid !== uid)) return { outcome: 'stopped' };
      if (Date.now() >= until) return { outcome: 'failed', detail: `pod ${endpoint.pod} is still terminating after ${Math.round(waitMs / 1000)}s` };
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(1, until - Date.now()))));
    }
  },
};

/** `/api/v1/namespaces/NS`. */
function namespacePath(where: Where): string {
  return `/api/v1/namespaces/${encodeURIComponent(where.namespace)}`;
}

/** Deletes whole namespaces (`bm stop --purge`): the Secret and anything else left in them. */
export async function purgeNamespaces(endpoints: readonly K8sEndpoint[]): Promise<string[]> {
  const seen = new Map(endpoints.map((e) => [`${e.context}\0${e.namespace}`, e]));
  const lines: string[] = [];
  for (const e of seen.values()) {
    try {
      const { status } = await kubeRequest(e.context, namespacePath(e), { method: 'DELETE', deadlineMs: timeoutMs() });
      lines.push(status === 404 ? `namespace ${e.namespace}: already gone` : `namespace ${e.namespace}: deleted (context ${e.context})`);
    } catch (error) {
      throw new BmError(`Could not delete namespace ${e.namespace}: ${(error as Error).message}`, `Delete it with \`kubectl --context ${e.context} delete namespace ${e.namespace}\`.`);
    }
  }
  return lines;
}

/** Options of `podLogs`. */
export interface PodLogOptions {
  /** Keep printing until `signal` aborts (or the container ends). */
  follow?: boolean;
  /** The previous container's output (after a restart). */
  previous?: boolean;
  /** Only the last N lines. */
  tailLines?: number;
  signal?: AbortSignal;
}

/**
 * Writes a member pod's output (the endpoint's container) to `write`: once, within the request
 * deadline, or followed (no deadline) until `options.signal` aborts or the container ends.
 * Rejects with the server's reason when the cluster cannot be reached or the pod has no such
 * log (yet).
 */
export async function podLogs(endpoint: K8sEndpoint, options: PodLogOptions, write: (chunk: string) => void): Promise<void> {
  const query = new URLSearchParams({ container: endpoint.container });
  if (options.follow) query.set('follow', 'true');
  if (options.previous) query.set('previous', 'true');
  if (options.tailLines !== undefined) query.set('tailLines', String(options.tailLines));
  try {
    const { status } = await kubeRequest(endpoint.context, `${namespacePath(endpoint)}/pods/${encodeURIComponent(endpoint.pod)}/log?${query}`, {
      deadlineMs: options.follow ? 0 : Math.max(timeoutMs(), 8000), signal: options.signal, onChunk: write, accept: '*/*',
    });
    if (status === 404) throw new Error(`pods "${endpoint.pod}" not found`);
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  }
}

/** What `bm status -v` adds for a pod member. */
export interface PodDetails {
  /** Restarts of the pod's containers (all of them). */
  restarts: number;
  /** How the last container run ended before the current one, if one did. */
  lastTermination: { container: string; reason: string; exitCode: number | null; finishedAt: string | null } | null;
  /** The pod's last events, oldest first: `time type reason: message`. */
  events: string[];
}

interface Event {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  metadata?: { creationTimestamp?: string; resourceVersion?: string };
  involvedObject?: { name?: string };
}

const podEvents = new Map<string, Promise<Event[]>>();

/** The events of every pod in a namespace: one request per namespace and process, whatever the number of members there. */
function namespacePodEvents(where: Where): Promise<Event[]> {
  const key = `${where.context}\0${where.namespace}`;
  let events = podEvents.get(key);
  if (!events) {
    events = kubeJson<{ items?: Event[] }>(where.context, `${namespacePath(where)}/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Pod')}`, { deadlineMs: timeoutMs() })
      .then((list) => list?.items ?? []);
    podEvents.set(key, events);
  }
  return events;
}

/** Restarts, the last termination and the last `count` events of a member's pod; null when the cluster does not say. */
export async function podDetails(endpoint: K8sEndpoint, count = 5): Promise<PodDetails | null> {
  let pod: Pod | undefined;
  let events: Event[];
  try {
    [pod, events] = await Promise.all([
      namespaceState(endpoint).then((state) => state.pods.get(endpoint.pod)),
      namespacePodEvents(endpoint).then((all) => all.filter((e) => e.involvedObject?.name === endpoint.pod)),
    ]);
  } catch {
    return null;
  }
  const statuses = pod?.status?.containerStatuses ?? [];
  const ended = statuses
    .flatMap((c) => (c.lastState?.terminated ? [{ container: c.name, ...c.lastState.terminated }] : []))
    .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''))
    .pop();
  const when = (e: Event) => e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
  // Event times have whole seconds: within one, the event written last has the highest
  // resourceVersion (opaque to clients, but etcd's revision on every cluster bm knows).
  const written = (e: Event) => Number(e.metadata?.resourceVersion) || 0;
  return {
    restarts: statuses.reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    lastTermination: ended ? { container: ended.container, reason: ended.reason ?? 'Unknown', exitCode: ended.exitCode ?? null, finishedAt: ended.finishedAt ?? null } : null,
    events: events.sort((a, b) => when(a).localeCompare(when(b)) || written(a) - written(b)).slice(-count)
      .map((e) => `${when(e)} ${e.type ?? ''} ${e.reason ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}: ${e.message ?? ''}`),
  };
}
