/**
 * Pods bm has no record of. The topology records the pods of the last complete deploy; a team
 * can still have others: in the namespace of an earlier `namespace_prefix`, left by a deploy that
 * failed part-way, or in a context formation.yml no longer names. bm finds them by the team's
 * labels, with one look across all namespaces of each context the team was deployed to
 * (the same one status reads the members' health from: lib/endpoints/k8s.ts).
 *
 * `{team dir}/clusters.json` remembers those contexts, from the moment a deploy starts until a
 * full `bm stop` has seen that nothing of the team is left there:
 *
 *   { "contexts": { "kind-botminter": "<ISO time of the first deploy>" } }
 *
 * A team that never deployed to a cluster has no such file (nor one whose first deploy found
 * the cluster unreachable), and its status asks no cluster.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { readTextIfExists, withFileLock, writeFileAtomic } from '../files.ts';
import { CONTAINER, DEFAULT_CONTEXT, MEMBER_LABEL, podName, slotsOf, statefulSetName, type Pod } from '../../formations/k8s/kube.ts';
import { healthOfPod, teamPods } from '../endpoints/k8s.ts';
import type { ResolvedFormation } from './formation.ts';
import type { Endpoint, Topology } from '../schema.ts';
import { projectsOf, type Team } from '../team.ts';
import { updateTopology } from '../topology.ts';

type K8sEndpoint = Extract<Endpoint, { type: 'k8s' }>;

/** A pod of the team that no record knows. */
export interface UnrecordedPod {
  member: string;
  endpoint: K8sEndpoint;
}

/** What a look for unrecorded pods found, and the contexts it could not look in. */
export interface PodSweep {
  pods: UnrecordedPod[];
  /** Contexts that answered (nothing unseen is left there beyond `pods`). */
  looked: string[];
  failed: { context: string; reason: string }[];
}

function recordFile(team: Team): string {
  return path.join(team.paths.dir, 'clusters.json');
}

function readContexts(team: Team): Record<string, string> {
  try {
    const data = JSON.parse(readTextIfExists(recordFile(team)) ?? '{}') as { contexts?: unknown };
    const contexts = data.contexts;
    if (!contexts || typeof contexts !== 'object' || Array.isArray(contexts)) return {};
    return Object.fromEntries(Object.entries(contexts).filter(([, since]) => typeof since === 'string'));
  } catch {
    return {};
  }
}

function updateContexts(team: Team, change: (contexts: Record<string, string>) => void): void {
  const file = recordFile(team);
  withFileLock(file, () => {
    const contexts = readContexts(team);
    change(contexts);
    if (Object.keys(contexts).length === 0) rmSync(file, { force: true });
    else writeFileAtomic(file, `${JSON.stringify({ contexts }, null, 2)}\n`, 0o600);
  });
}

/** The kubeconfig context a k8s formation deploys to, or undefined for other formation types. */
export function deployContext(formation: ResolvedFormation): string | undefined {
  if (formation.type !== 'k8s') return undefined;
  return formation.config?.k8s?.context ?? DEFAULT_CONTEXT;
}

/** Remembers that the team is being deployed to `context` (before anything is deployed); true when it is new. */
export function rememberContext(team: Team, context: string): boolean {
  if (readContexts(team)[context]) return false;
  updateContexts(team, (contexts) => {
    contexts[context] ??= new Date().toISOString();
  });
  return true;
}

/** Forgets contexts where a full stop saw nothing of the team left. */
export function forgetContexts(team: Team, done: readonly string[]): void {
  if (done.length === 0 || !done.some((c) => readContexts(team)[c])) return;
  updateContexts(team, (contexts) => {
    for (const context of done) delete contexts[context];
  });
}

/** The endpoint of a member's pod: its first container, its StatefulSet when bm named the pod after one. */
function endpointOf(context: string, pod: Pod, member: string, container?: string): K8sEndpoint {
  const name = pod.metadata.name;
  return {
    type: 'k8s',
    context,
    namespace: pod.metadata.namespace ?? 'default',
    pod: name,
    container: container ?? pod.spec?.containers?.[0]?.name ?? CONTAINER,
    ...(name === podName(member) ? { statefulset: statefulSetName(member) } : {}),
  };
}

/** The team's pods in `context` that are there to stay (a pod being deleted is not left over). */
async function livePods(team: Team, context: string, fresh = false): Promise<{ pod: Pod; member: string }[]> {
  return (await teamPods(context, team.name, fresh)).flatMap((pod) => {
    const member = pod.metadata.labels?.[MEMBER_LABEL];
    return member && !pod.metadata.deletionTimestamp ? [{ pod, member }] : [];
  });
}

/**
 * The team's pods in every context it was deployed to (and every context `known` names) that no
 * endpoint in `known` is. Asks no cluster when there is none; otherwise the look at each
 * context is running when this returns, and the members' health checks share it.
 */
export async function unrecordedPods(team: Team, known: readonly Endpoint[]): Promise<PodSweep> {
  const recorded = known.filter((e): e is K8sEndpoint => e.type === 'k8s');
  const contexts = [...new Set([...Object.keys(readContexts(team)), ...recorded.map((e) => e.context)])].sort();
  const sweep: PodSweep = { pods: [], looked: [], failed: [] };
  if (contexts.length === 0) return sweep;
  const isRecorded = (e: K8sEndpoint) => recorded.some((r) => r.context === e.context && r.namespace === e.namespace && r.pod === e.pod);
  await Promise.all(contexts.map(async (context) => {
    try {
      for (const { pod, member } of await livePods(team, context)) {
        const endpoint = endpointOf(context, pod, member);
        if (!isRecorded(endpoint)) sweep.pods.push({ member, endpoint });
      }
      sweep.looked.push(context);
    } catch (error) {
      sweep.failed.push({ context, reason: (error as Error).message });
    }
  }));
  sweep.pods.sort((a, b) => `${a.endpoint.context}/${a.endpoint.namespace}/${a.endpoint.pod}`.localeCompare(`${b.endpoint.context}/${b.endpoint.namespace}/${b.endpoint.pod}`));
  return sweep;
}

/** `bm status`'s warning about an unrecorded pod, with the command that removes it. */
export function unrecordedWarning(team: Team, pod: UnrecordedPod): string {
  const e = pod.endpoint;
  return `${pod.member}: pod ${e.namespace}/${e.pod} (context ${e.context}) carries the labels of team '${team.name}' but bm has no record of it; \`bm stop ${pod.member} -t ${team.name}\` removes it.`;
}

/**
 * After a deploy that failed part-way: records in topology.json every pod of the team the
 * cluster now has in `context` (the record of the other contexts is kept), so that status and
 * stop see what did get deployed. Records no inputs, so the next `bm start` deploys again.
 * Returns how many pods were recorded; throws when the cluster cannot be read.
 */
export async function recordPartialDeploy(team: Team, formation: string, context: string): Promise<number> {
  const pods = await livePods(team, context, true);
  const projects = projectsOf(team).map((p) => ({ name: p.name, url: p.fork_url }));
  const members: Topology['members'] = {};
  for (const { pod, member } of pods) {
    for (const slot of slotsOf({ projects }, member)) {
      members[slot.key] = {
        status: healthOfPod(pod).status,
        member,
        project: slot.project,
        started_at: pod.status?.startTime ?? null,
        endpoint: endpointOf(context, pod, member, slot.container),
      };
    }
  }
  updateTopology(team.paths.topology, (current) => {
    const elsewhere = Object.entries(current?.members ?? {}).filter(([key, m]) => m.endpoint.type === 'k8s' && m.endpoint.context !== context && !members[key]);
    const all = { ...Object.fromEntries(elsewhere), ...members };
    if (Object.keys(all).length === 0) return current ? null : undefined;
    return { formation, created_at: new Date().toISOString(), context, partial: true, members: all };
  });
  return pods.length;
}
