/**
 * The `k8s` endpoint: a member pod, `{type: k8s, context, namespace, pod, container}`.
 *
 * Health reads all the team's pods of a namespace in one list request, shared by every endpoint
 * of that namespace, so `bm status` costs one round-trip per namespace, not one per member. It
 * is on the path of `bm status` and of every `bm start --formation k8s`, so that request goes
 * straight over node:http(s) (kubeconfig.ts) whenever the context is one bm can honour exactly
 * as kubectl would.
 *
 * Other contexts (exec plugins and the like), and every write (stop, purge), go through
 * @kubernetes/client-node, imported on first use (it takes the better part of a second to
 * load) and configured from the operator's kubeconfig (KUBECONFIG or ~/.kube/config) with the
 * endpoint's context. client-node sets no timeout of its own, and a paused kind container
 * accepts connections but never answers, so every request on either path has a deadline
 * (BM_K8S_TIMEOUT_MS, default 4000).
 */
import process from 'node:process';
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { configMapName, MANAGED_BY, MEMBER_LABEL, podDrift, podHealth, SECRET, TEAM_LABEL, type Pod } from '../../formations/k8s/kube.ts';
import { BmError } from '../output.ts';
import type { Endpoint } from '../schema.ts';
import type { Deployed, EndpointDriver, Health, StopOptions, StopResult } from './index.ts';
import { getJson, getStream, routeTo } from './kubeconfig.ts';

type K8sEndpoint = Extract<Endpoint, { type: 'k8s' }>;
type ClientNode = typeof import('@kubernetes/client-node');

let loaded: Promise<ClientNode> | undefined;
interface Apis {
  core: CoreV1Api;
  apps: AppsV1Api;
}

const apis = new Map<string, Promise<Apis>>();
const states = new Map<string, Promise<NamespaceState>>();

/** What one look at a namespace shows: bm's pods by name, and which of its ConfigMaps and Secrets exist. */
interface NamespaceState {
  pods: Map<string, Pod>;
  configMaps: Set<string>;
  secrets: Set<string>;
}

function timeoutMs(): number {
  const ms = Number(process.env.BM_K8S_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 4000;
}

/** The CoreV1 and AppsV1 APIs of a kubeconfig context (one client per context per process). */
function apisOf(context: string): Promise<Apis> {
  let api = apis.get(context);
  if (!api) {
    api = (async () => {
      loaded ??= import('@kubernetes/client-node');
      const k8s = await loaded;
      const kc = new k8s.KubeConfig();
      kc.loadFromDefault();
      if (!kc.getContextObject(context)) throw new Error(`context '${context}' is not in the kubeconfig (${process.env.KUBECONFIG || '~/.kube/config'})`);
      kc.setCurrentContext(context);
      return { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
    })();
    apis.set(context, api);
  }
  return api;
}

/**
 * Runs one API call with an abort signal, plus a timer of its own in case the client ignores
 * the signal: a hung API server must never hang bm.
 */
async function call<T>(context: string, run: (api: CoreV1Api, options: object, apps: AppsV1Api) => Promise<T>): Promise<T> {
  const { core: api, apps } = await apisOf(context);
  const k8s = await (loaded as Promise<ClientNode>);
  const ms = timeoutMs();
  const abort = new AbortController();
  const options = {
    middleware: [{
      pre: (ctx: { setSignal(signal: AbortSignal): void }) => {
        ctx.setSignal(abort.signal);
        return new k8s.Observable(Promise.resolve(ctx));
      },
      post: <R>(response: R) => new k8s.Observable(Promise.resolve(response)),
    }],
    middlewareMergeStrategy: 'append',
  };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`no answer from the API server within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([run(api, options, apps), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The HTTP status of a client-node error, if it is one. */
function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** A short reason for an API failure: the Status message when there is one. */
export function describeError(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // Not a Status body.
    }
  }
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: unknown }).code;
  const message = (error as Error).message ?? String(error);
  return typeof cause === 'string' && !message.includes(cause) ? `${message} (${cause})` : message;
}

/** Lists bm's objects of one kind in the endpoint's namespace (only the metadata of Secrets and ConfigMaps). */
async function listOf(endpoint: K8sEndpoint, plural: 'pods' | 'configmaps' | 'secrets'): Promise<{ metadata?: { name?: string } }[]> {
  const selector = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
  const route = routeTo(endpoint.context);
  if (route.kind === 'fallback') {
    const list = await call(endpoint.context, (api, options) => {
      const request = { namespace: endpoint.namespace, labelSelector: selector };
      if (plural === 'pods') return api.listNamespacedPod(request, options);
      return plural === 'configmaps' ? api.listNamespacedConfigMap(request, options) : api.listNamespacedSecret(request, options);
    });
    return list.items as { metadata?: { name?: string } }[];
  }
  // @speed-only-begin: the same list over the fast path (kubeconfig.ts)
  // Pods in full (their status is the health); the others as metadata only: a Secret's data never leaves the server.
  const list = await getJson(route.target, `/api/v1/namespaces/${encodeURIComponent(endpoint.namespace)}/${plural}?labelSelector=${encodeURIComponent(selector)}`, timeoutMs(), plural !== 'pods');
  const items = (list as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new Error('the API server did not answer with a list');
  return items as { metadata?: { name?: string } }[];
  // @speed-only-end
}

/**
 * Every pod of team `team` in any namespace of `context`, found by its labels in one list request
 * (what the topology does not record: an earlier namespace prefix, a deploy that failed part-way).
 */
export async function teamPods(context: string, team: string): Promise<Pod[]> {
  const selector = `app.kubernetes.io/managed-by=${MANAGED_BY},${TEAM_LABEL}=${team}`;
  const route = routeTo(context);
  if (route.kind === 'fallback') return (await call(context, (api, options) => api.listPodForAllNamespaces({ labelSelector: selector }, options))).items as Pod[];
  // @speed-only-begin: the same list over the fast path (kubeconfig.ts)
  const items = (await getJson(route.target, `/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`, timeoutMs()) as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new Error('the API server did not answer with a list');
  return items as Pod[];
  // @speed-only-end
}

/** The namespace's pods, ConfigMaps and Secrets of bm: three list requests sent together, once per namespace. */
function namespaceState(endpoint: K8sEndpoint): Promise<NamespaceState> {
  const key = `${endpoint.context}\0${endpoint.namespace}`;
  let state = states.get(key);
  if (!state) {
    const names = (items: { metadata?: { name?: string } }[]) => new Set(items.map((i) => i.metadata?.name ?? ''));
    state = Promise.all([listOf(endpoint, 'pods'), listOf(endpoint, 'configmaps'), listOf(endpoint, 'secrets')]).then(([pods, configMaps, secrets]) => ({
      pods: new Map((pods as Pod[]).map((p) => [p.metadata?.name ?? '', p])),
      configMaps: names(configMaps),
      secrets: names(secrets),
    }));
    states.set(key, state);
  }
  return state;
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

async function waitUntilGone(endpoint: K8sEndpoint, uid: string | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const pod = await call(endpoint.context, (api, options) => api.readNamespacedPod({ name: endpoint.pod, namespace: endpoint.namespace }, options));
      if (uid && pod.metadata?.uid !== uid) return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** The k8s endpoint driver. */
export const driver: EndpointDriver<K8sEndpoint> = {
  async health(endpoint, deployed?: Deployed): Promise<Health> {
    let state: NamespaceState;
    try {
      state = await namespaceState(endpoint);
    } catch (error) {
      return { status: 'unknown', detail: `could not reach context ${endpoint.context}: ${describeError(error)}` };
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
    let uid: string | undefined;
    let existed = true;
    const grace = options.force ? { gracePeriodSeconds: 0 } : {};
    let member = endpoint.pod;
    if (endpoint.statefulset) {
      try {
        const sts = await call(endpoint.context, (_api, o, apps) => apps.readNamespacedStatefulSet({ name: endpoint.statefulset ?? '', namespace: endpoint.namespace }, o));
        member = sts.metadata?.labels?.[MEMBER_LABEL] ?? member;
        await call(endpoint.context, (_api, o, apps) => apps.deleteNamespacedStatefulSet({ name: endpoint.statefulset ?? '', namespace: endpoint.namespace, propagationPolicy: 'Background' }, o));
      } catch (error) {
        if (statusOf(error) !== 404) return { outcome: 'failed', detail: `could not delete StatefulSet ${endpoint.statefulset}: ${describeError(error)}` };
        existed = false;
      }
    }
    try {
      const deleted = await call(endpoint.context, (api, o) => api.deleteNamespacedPod({ name: endpoint.pod, namespace: endpoint.namespace, ...grace }, o));
      uid = deleted.metadata?.uid;
      existed = true;
    } catch (error) {
      if (statusOf(error) !== 404) return { outcome: 'failed', detail: `could not delete pod ${endpoint.pod}: ${describeError(error)}` };
      // The StatefulSet's pod may already be gone with it.
      if (!endpoint.statefulset) existed = false;
    }
    try {
      const maps = await call(endpoint.context, (api, o) => api.listNamespacedConfigMap({ namespace: endpoint.namespace, labelSelector: `${MEMBER_LABEL}=${member}` }, o));
      for (const map of maps.items) {
        await call(endpoint.context, (api, o) => api.deleteNamespacedConfigMap({ name: map.metadata?.name ?? '', namespace: endpoint.namespace }, o)).catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      }
    } catch (error) {
      return { outcome: 'failed', detail: `pod deleted, but not its ConfigMap: ${describeError(error)}` };
    }
    if (!existed) return { outcome: 'not-running' };
    if (!(await waitUntilGone(endpoint, uid, options.timings.stopGraceMs))) {
      return { outcome: 'failed', detail: `pod ${endpoint.pod} is still terminating after ${Math.round(options.timings.stopGraceMs / 1000)}s` };
    }
    return { outcome: 'stopped' };
  },
};

/** Deletes whole namespaces (`bm stop --purge`): the Secret and anything else left in them. */
export async function purgeNamespaces(endpoints: readonly K8sEndpoint[]): Promise<string[]> {
  const seen = new Map(endpoints.map((e) => [`${e.context}\0${e.namespace}`, e]));
  const lines: string[] = [];
  for (const e of seen.values()) {
    try {
      await call(e.context, (api, o) => api.deleteNamespace({ name: e.namespace }, o));
      lines.push(`namespace ${e.namespace}: deleted (context ${e.context})`);
    } catch (error) {
      if (statusOf(error) === 404) lines.push(`namespace ${e.namespace}: already gone`);
      else throw new BmError(`Could not delete namespace ${e.namespace}: ${describeError(error)}`, `Delete it with \`kubectl --context ${e.context} delete namespace ${e.namespace}\`.`);
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
 * Writes a member pod's output (the endpoint's container) to `write`, as `kubectl logs` would:
 * once, or followed until `options.signal` aborts or the container ends. Rejects with why when
 * the cluster cannot be reached or the pod has no such log (yet).
 */
export async function podLogs(endpoint: K8sEndpoint, options: PodLogOptions, write: (chunk: string) => void): Promise<void> {
  const query = new URLSearchParams({ container: endpoint.container });
  if (options.follow) query.set('follow', 'true');
  if (options.previous) query.set('previous', 'true');
  if (options.tailLines !== undefined) query.set('tailLines', String(options.tailLines));
  const route = routeTo(endpoint.context);
  if (route.kind === 'fallback') {
    const k8s = await (loaded ??= import('@kubernetes/client-node'));
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    kc.setCurrentContext(endpoint.context);
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => write(chunk.toString('utf8')));
    const done = new Promise<void>((resolve) => out.on('end', resolve));
    const request = await new k8s.Log(kc).log(endpoint.namespace, endpoint.pod, endpoint.container, out, { follow: options.follow, previous: options.previous, tailLines: options.tailLines });
    options.signal?.addEventListener('abort', () => {
      request.abort();
      out.end();
    });
    return done;
  }
  const path = `/api/v1/namespaces/${encodeURIComponent(endpoint.namespace)}/pods/${encodeURIComponent(endpoint.pod)}/log?${query}`;
  const response = await getStream(route.target, path, timeoutMs());
  await new Promise<void>((resolve, reject) => {
    options.signal?.addEventListener('abort', () => {
      response.destroy();
      resolve();
    });
    response.on('data', (chunk: Buffer) => write(chunk.toString('utf8')));
    response.on('end', resolve);
    response.on('error', (error) => (options.signal?.aborted ? resolve() : reject(error)));
  });
}
