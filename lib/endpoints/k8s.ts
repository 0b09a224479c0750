/**
 * The `k8s` endpoint: a member pod, `{type: k8s, context, namespace, pod, container}`.
 *
 * bm reaches the cluster only through kubectl (formations/k8s/kubectl.ts), as the hat scripts
 * do: whatever kubeconfig works with kubectl works with bm (merged files, exec plugins, proxies),
 * and bm never reads a credential itself. docs/formations.md says what that costs.
 *
 * Health, and the look for pods no record knows (lib/lifecycle/clusters.ts), read bm's pods,
 * ConfigMaps and Secrets in every namespace of a context with one kubectl call, shared by every
 * endpoint there, so `bm status` costs one kubectl per context, not one per member. Every call
 * has a total deadline (BM_K8S_TIMEOUT_MS, default 4000): a paused cluster accepts connections
 * and never answers.
 *
 * That look is most of the time of `bm status` and of a repeated `bm start`, and kubectl spends
 * most of it starting up. So it starts before bm has read the team and its topology (which is
 * what names the contexts): `lookEarly()`, the first thing those commands run, starts it for the
 * contexts the same command (with the same `-t`) looked at the last time, recorded in
 * `$XDG_CACHE_HOME/bm/k8s-contexts.json`. A look nobody asks for is ended when bm exits, and
 * the record is corrected; as the look only reads, a wrong record costs time, never a wrong answer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { configMapName, lastLine, MANAGED_BY, MEMBER_LABEL, podDrift, podHealth, SECRET, TEAM_LABEL, type Meta, type Pod } from '../../formations/k8s/kube.ts';
import { runKubectl, startKubectl, type KubectlCall, type KubectlOptions, type KubectlRun } from '../../formations/k8s/kubectl.ts';
import { readTextIfExists, writeFileAtomic } from '../files.ts';
import { BmError } from '../output.ts';
import { bmHome, cacheHome } from '../paths.ts';
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

/** bm's objects in every namespace of a context: its pods, and each namespace's state. */
interface ContextObjects {
  pods: Pod[];
  namespaces: Map<string, NamespaceState>;
}

function timeoutMs(): number {
  const ms = Number(process.env.BM_K8S_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 4000;
}

/** Why a kubectl call failed, in kubectl's words (its last line on stderr). */
class KubectlError extends Error {
  constructor(readonly run: KubectlRun) {
    super(lastLine(run.stderr) || `kubectl exited with code ${run.exitCode}`);
  }
}

/**
 * `--context C --request-timeout T [-n NS]` for a call with `ms` in all. kubectl's own timeout
 * comes first, so its message is the one shown when the server does not answer; the deadline
 * catches discovery retries.
 */
function flagsFor(where: Pick<Where, 'context'> & Partial<Where>, ms: number): string[] {
  const requestTimeout = ms > 0 ? `${Math.max(1, Math.floor((ms * 0.75) / 1000))}s` : '0';
  return ['--context', where.context, `--request-timeout=${requestTimeout}`, ...(where.namespace ? ['-n', where.namespace] : [])];
}

/** kubectl's output, or its reason when it failed. */
function outputOf(run: KubectlRun): string {
  if (run.exitCode !== 0) throw new KubectlError(run);
  return run.stdout;
}

/** `kubectl --context C --request-timeout T [-n NS] <args>` within `ms` in all; rejects with kubectl's reason when it fails. */
async function kubectl(where: Pick<Where, 'context'> & Partial<Where>, args: string[], ms = timeoutMs(), options: KubectlOptions = {}): Promise<string> {
  return outputOf(await runKubectl(flagsFor(where, ms), args, { ...options, deadlineMs: ms }));
}

/**
 * One line per object, tab-separated: kind, namespace, name, labels, annotations, deletion time,
 * containers (`name=image `, pods only) and status (pods only). Only what bm reads: a pod's
 * spec and managed fields are most of its bytes. Maps come as JSON (kubectl's jsonpath prints
 * them so), whose strings never hold a raw tab or newline; names, times and images hold no
 * blanks. A Secret shows only its metadata: its values never reach bm.
 */
const OBJECT_LINES = [
  '{range .items[*]}{.kind}', '{.metadata.namespace}', '{.metadata.name}', '{.metadata.labels}', '{.metadata.annotations}',
  '{.metadata.deletionTimestamp}', '{range .spec.containers[*]}{.name}{"="}{.image}{" "}{end}', '{.status}{"\\n"}{end}',
].join('{"\\t"}');

/** The object one line of OBJECT_LINES describes. */
function objectOf(line: string): { kind: string; metadata: Meta; spec: Pod['spec']; status: Pod['status'] } {
  const [kind, namespace, name, labels, annotations, deletionTimestamp, containers, status] = line.split('\t');
  const metadata: Meta = { name, namespace };
  if (labels) metadata.labels = JSON.parse(labels) as Record<string, string>;
  if (annotations) metadata.annotations = JSON.parse(annotations) as Record<string, string>;
  if (deletionTimestamp) metadata.deletionTimestamp = deletionTimestamp;
  const spec = { containers: (containers ?? '').split(' ').filter(Boolean).map((c) => ({ name: c.slice(0, c.indexOf('=')), image: c.slice(c.indexOf('=') + 1) })) };
  return { kind, metadata, spec, status: status ? JSON.parse(status) as Pod['status'] : undefined };
}

/** The arguments of the one kubectl call that reads bm's objects in a context (`npm run bench -- k8s` times it too). */
export const LOOK_ARGS: readonly string[] = ['get', 'pods,configmaps,secrets', '--all-namespaces', '-l', `app.kubernetes.io/managed-by=${MANAGED_BY}`, '-o', `jsonpath=${OBJECT_LINES}`];

/** The look at `context`, started. */
function startLook(context: string): KubectlCall {
  const ms = timeoutMs();
  return startKubectl(flagsFor({ context }, ms), LOOK_ARGS, { deadlineMs: ms });
}

/** Looks lookEarly() started that nobody has asked for yet, by context: bm does not wait for them. */
const early = new Map<string, KubectlCall>();
/** The contexts this process looked at. */
const lookedAt = new Set<string>();

/**
 * bm's objects in every namespace of `context`: one kubectl call, once per context and process.
 * The call is running when this returns.
 */
function contextObjects(context: string): Promise<ContextObjects> {
  let look = looks.get(context);
  if (!look) {
    lookedAt.add(context);
    const call = early.get(context) ?? startLook(context);
    early.delete(context);
    call.hold(true);
    look = call.result.then((run) => {
      const found: ContextObjects = { pods: [], namespaces: new Map() };
      for (const line of outputOf(run).split('\n').filter(Boolean)) {
        const { kind, metadata, spec, status } = objectOf(line);
        const namespace = metadata.namespace ?? '';
        let state = found.namespaces.get(namespace);
        if (!state) found.namespaces.set(namespace, state = { pods: new Map(), configMaps: new Set(), secrets: new Set() });
        if (kind === 'Pod') {
          const pod = { metadata, spec, status };
          found.pods.push(pod);
          state.pods.set(metadata.name, pod);
        } else if (kind === 'ConfigMap') state.configMaps.add(metadata.name);
        else if (kind === 'Secret') state.secrets.add(metadata.name);
      }
      return found;
    });
    looks.set(context, look);
  }
  return look;
}

/** The record lookEarly() keeps: BM_HOME → `<command>[ -t <team>]` → the contexts looked at. */
type LookRecord = Record<string, Record<string, string[]>>;

const recordFile = () => path.join(cacheHome(), 'k8s-contexts.json');

function readRecord(): LookRecord {
  try {
    const record = JSON.parse(readTextIfExists(recordFile()) ?? '{}') as unknown;
    return record && typeof record === 'object' && !Array.isArray(record) ? record as LookRecord : {};
  } catch {
    return {}; // A torn or foreign record: no early look.
  }
}

/** The most looks lookEarly() starts; any other context is looked at when asked. */
const MAX_EARLY_LOOKS = 4;

/** The value of `-t`/`--team` in `argv`, if any (the launcher moves it after the command). */
function teamFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-t' || arg === '--team') return argv[i + 1];
    if (arg.startsWith('--team=')) return arg.slice('--team='.length);
    if (/^-t./.test(arg)) return arg.slice(2);
  }
  return undefined;
}

/**
 * Starts the look at every context `command` (run with `argv`) looked at the last time, without
 * waiting for it: contextObjects() takes it over when asked. When bm exits, the looks nobody
 * asked for are ended and, after a successful run, the record says which contexts this run looked at.
 */
export function lookEarly(command: string, argv: readonly string[]): void {
  if (argv.some((arg) => arg === '-h' || arg === '--help' || arg === '--dry-run')) return;
  const home = bmHome();
  const team = teamFlag(argv);
  const key = team === undefined ? command : `${command} -t ${team}`;
  const hinted = readRecord()[home]?.[key];
  const contexts = [...new Set(Array.isArray(hinted) ? hinted.filter((c): c is string => typeof c === 'string' && c !== '') : [])];
  // A few at most: each is a kubectl process, and a team rarely spans more clusters.
  for (const context of contexts.slice(0, MAX_EARLY_LOOKS)) {
    const call = startLook(context);
    call.hold(false);
    early.set(context, call);
  }
  process.once('exit', (code) => {
    for (const call of early.values()) call.kill();
    const looked = [...lookedAt].sort();
    if (code !== 0 || looked.join('\n') === [...contexts].sort().join('\n')) return;
    try {
      // Other BM_HOMEs keep their entries while they exist (a test's or a bench's are gone soon).
      const current = readRecord();
      const record = Object.fromEntries(Object.entries(current).filter(([other]) => other !== home && existsSync(other)));
      record[home] = { ...current[home], [key]: looked };
      writeFileAtomic(recordFile(), `${JSON.stringify(record, null, 2)}\n`, 0o600, { durable: false });
    } catch {
      // Only a hint: the next run looks late, as without one.
    }
  });
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
  return (await contextObjects(where.context)).namespaces.get(where.namespace) ?? { pods: new Map(), configMaps: new Set(), secrets: new Set() };
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
    let member = endpoint.pod;
    let deleted: string;
    try {
      if (endpoint.statefulset) {
        // Its member label says which ConfigMaps are the member's (a long name is shortened in the StatefulSet's).
        const label = `{.metadata.labels.${MEMBER_LABEL.replaceAll('.', '\\.')}}`;
        member = (await kubectl(endpoint, ['get', 'statefulset', endpoint.statefulset, '--ignore-not-found', '-o', `jsonpath=${label}`])).trim() || member;
      }
      const objects = [...(endpoint.statefulset ? [`statefulset/${endpoint.statefulset}`] : []), `pod/${endpoint.pod}`];
      // kubectl refuses a grace period of 0 without --force; 1 s is its "immediate".
      deleted = await kubectl(endpoint, ['delete', ...objects, '--ignore-not-found', '--wait=false', '-o', 'name', ...(options.force ? ['--grace-period=1'] : [])]);
    } catch (error) {
      return { outcome: 'failed', detail: `could not delete pod ${endpoint.pod}: ${(error as Error).message}` };
    }
    try {
      await kubectl(endpoint, ['delete', 'configmap', '-l', `${MEMBER_LABEL}=${member}`, '--ignore-not-found', '--wait=false']);
    } catch (error) {
      return { outcome: 'failed', detail: `pod deleted, but not its ConfigMap: ${(error as Error).message}` };
    }
    if (deleted.trim() === '') return { outcome: 'not-running' };
    const waitMs = options.timings.stopGraceMs;
    try {
      await kubectl(endpoint, ['wait', '--for=delete', `pod/${endpoint.pod}`, `--timeout=${Math.max(1, Math.round(waitMs / 1000))}s`], waitMs + timeoutMs());
    } catch (error) {
      // Older kubectl versions refuse to wait for a pod that is already gone.
      if (/not found|no matching resources/i.test((error as Error).message)) return { outcome: 'stopped' };
      return { outcome: 'failed', detail: `pod ${endpoint.pod} is still terminating after ${Math.round(waitMs / 1000)}s (${(error as Error).message})` };
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
      const deleted = await kubectl(e, ['delete', 'namespace', e.namespace, '--ignore-not-found', '--wait=false', '-o', 'name']);
      lines.push(deleted.trim() ? `namespace ${e.namespace}: deleted (context ${e.context})` : `namespace ${e.namespace}: already gone`);
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
 * Writes a member pod's output (the endpoint's container) to `write`: once, within
 * BM_K8S_KUBECTL_DEADLINE_MS, or followed (no deadline) until `options.signal` aborts or the
 * container ends. Rejects with kubectl's reason when the cluster cannot be reached or the pod has
 * no such log (yet).
 */
export async function podLogs(endpoint: K8sEndpoint, options: PodLogOptions, write: (chunk: string) => void): Promise<void> {
  const args = ['logs', endpoint.pod, '-c', endpoint.container];
  if (options.follow) args.push('--follow');
  if (options.previous) args.push('--previous');
  if (options.tailLines !== undefined) args.push(`--tail=${options.tailLines}`);
  try {
    await kubectl(endpoint, args, options.follow ? 0 : Math.max(timeoutMs(), 8000), { onStdout: write, signal: options.signal });
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
  metadata?: { creationTimestamp?: string };
  involvedObject?: { name?: string };
}

const podEvents = new Map<string, Promise<Event[]>>();

/** The events of every pod in a namespace: one kubectl call per namespace and process, whatever the number of members there. */
function namespacePodEvents(where: Where): Promise<Event[]> {
  const key = `${where.context}\0${where.namespace}`;
  let events = podEvents.get(key);
  if (!events) {
    events = kubectl(where, ['get', 'events', '--field-selector', 'involvedObject.kind=Pod', '-o', 'json']).then((json) => (JSON.parse(json) as { items?: Event[] }).items ?? []);
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
  return {
    restarts: statuses.reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    lastTermination: ended ? { container: ended.container, reason: ended.reason ?? 'Unknown', exitCode: ended.exitCode ?? null, finishedAt: ended.finishedAt ?? null } : null,
    events: events.sort((a, b) => when(a).localeCompare(when(b))).slice(-count)
      .map((e) => `${when(e)} ${e.type ?? ''} ${e.reason ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}: ${e.message ?? ''}`),
  };
}
