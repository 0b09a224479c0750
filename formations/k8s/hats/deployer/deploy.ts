/**
 * The deployer hat: brings the team's namespace, credentials Secret, member ConfigMaps and
 * member StatefulSets to the state the team repo and the operator's credentials describe.
 *
 *   node hats/deployer/deploy.ts             deploy (idempotent)
 *   node hats/deployer/deploy.ts --plan      print what would change, as JSON
 *   node hats/deployer/deploy.ts --dry-run   print the manifests (Secret values as
 *                                                         a placeholder), have the API server
 *                                                         check them, change nothing
 *
 * Everything is applied server-side with `--force-conflicts`, so an object changed or deleted on
 * the cluster is restored. A changed member (config, image or credentials) gets a new pod
 * template and its StatefulSet rolls the pod; a pod that failed, or that someone changed by hand,
 * is deleted and its StatefulSet makes it again. The objects of members who left are deleted.
 * The credentials reach kubectl on stdin only.
 */
import path from 'node:path';
import process from 'node:process';
import { which } from 'zx/core';
import { stringify } from 'yaml';
import {
  MEMBER_LABEL, SECRET, credentialsOf, kubectlDeadlineMs, deployment, desiredMembers, fail, itemsOf, namespaceManifest,
  podDrift, podHealth, podName, secretManifest, statefulSetName, teamSelector, type Meta, type Pod, type StatefulSet,
} from '../../kube.ts';
import { documents, failWith, kubectl } from '../../kubectl.ts';

const mode = process.argv.includes('--dry-run') ? 'dry-run' : process.argv.includes('--plan') ? 'plan' : 'deploy';
const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const log = (line: string) => process.stderr.write(`${line}\n`);

if (!(await which('kubectl', { nothrow: true }))) {
  fail('kubectl not found in PATH', 'Install kubectl (https://kubernetes.io/docs/tasks/tools/) and try again.');
}

// One call proves the cluster answers (and the credentials work) and tells whether the namespace
// exists. Its deadline is shorter: a cluster that does not answer this cheap GET is down.
const ns = await kubectl(d, ['get', 'namespace', d.namespace, '--ignore-not-found', '-o', 'name'], undefined, Math.min(kubectlDeadlineMs(), 5000));
if (ns.exitCode !== 0) failWith(d, ns);
const namespaceExists = ns.stdout.trim() !== '';

const credentials = credentialsOf(process.env);
if (mode === 'deploy' && !credentials['gh-token']) {
  fail('No GitHub token for the members', 'Set `credentials.gh_token` for the team in BM_HOME/config.yml, or export GH_TOKEN, then try again.');
}
if (!d.teamRemote) {
  const hint = 'Give it a remote the cluster can reach (`git -C <team repo> remote add origin <url>` and push), then try again.';
  if (mode === 'deploy') fail('The team repo has no `origin` remote, and the member pods clone it from there', hint);
  log(`Warning: the team repo has no \`origin\` remote; the member pods could not clone it. ${hint}`);
} else if (!/^(https?|ssh|git):\/\/|^[^/\s]+@[^/\s]+:/.test(d.teamRemote)) {
  log(`Warning: the member pods clone the team repo from ${d.teamRemote}, which is not a network URL; a pod on a real cluster cannot reach it.`);
}

const desired = desiredMembers(d, credentials);

interface Live {
  statefulSets: Map<string, StatefulSet>;
  configMaps: Map<string, { metadata: Meta }>;
  pods: Map<string, Pod>;
  secrets: Set<string>;
}

/** The team's StatefulSets, ConfigMaps and pods, in one kubectl call. */
async function readLive(): Promise<Live> {
  const live: Live = { statefulSets: new Map(), configMaps: new Map(), pods: new Map(), secrets: new Set() };
  if (!namespaceExists) return live;
  const got = await kubectl(d, ['get', 'statefulsets,configmaps,pods,secrets', '-n', d.namespace, '-l', teamSelector(d), '-o', 'json']);
  // kubectl prints an empty List on stdout even when the server failed: trust the exit code.
  if (got.exitCode !== 0) failWith(d, got, `Could not list the team's objects in namespace ${d.namespace}`);
  for (const item of itemsOf<{ kind: string; metadata: Meta }>(got.stdout)) {
    if (item.kind === 'StatefulSet') live.statefulSets.set(item.metadata.name, item as StatefulSet);
    else if (item.kind === 'ConfigMap') live.configMaps.set(item.metadata.name, item);
    else if (item.kind === 'Pod') live.pods.set(item.metadata.name, item as Pod);
    else if (item.kind === 'Secret') live.secrets.add(item.metadata.name);
  }
  return live;
}

const live = await readLive();

/** What a deploy would do. `recreate` lists every member whose pod is replaced, with why. */
interface Plan {
  create: string[];
  recreate: { member: string; why: string }[];
  unchanged: string[];
  /** Members no longer in the team whose StatefulSet is deleted. */
  remove: string[];
  removeConfigMaps: string[];
  /** Objects put back because they were deleted or changed on the cluster. */
  restore: string[];
}

const plan: Plan = { create: [], recreate: [], unchanged: [], remove: [], removeConfigMaps: [], restore: [] };
if (namespaceExists && !live.secrets.has(SECRET)) plan.restore.push(`secret/${SECRET}`);
/** Pods to delete so their StatefulSet makes them again (failed, changed by hand, or stuck on an old template). */
const podsToDelete: string[] = [];
const image = d.image;
for (const want of desired) {
  const sts = live.statefulSets.get(statefulSetName(want.member));
  const pod = live.pods.get(podName(want.member));
  const configName = (want.config.metadata as { name: string }).name;
  if (namespaceExists && !live.configMaps.has(configName) && sts) plan.restore.push(`configmap/${configName}`);
  if (!sts) {
    plan.create.push(want.member);
    continue;
  }
  const template = sts.spec?.template;
  const stsDrift = podDrift({ metadata: { name: '', annotations: template?.metadata?.annotations }, spec: { containers: (template?.spec?.containers ?? []).map((c) => ({ name: '', image: c.image })) } }, { hash: want.hash, secretVersion: want.secretVersion, image });
  const podWhy = pod ? podDrift(pod, { hash: want.hash, secretVersion: want.secretVersion, image }) : undefined;
  const health = pod ? podHealth(pod) : undefined;
  if (stsDrift) {
    plan.recreate.push({ member: want.member, why: stsDrift });
    // A StatefulSet does not roll a pod that is not Ready: that one goes now.
    if (pod && health?.state !== 'ready') podsToDelete.push(podName(want.member));
  } else if (pod && podWhy) {
    plan.recreate.push({ member: want.member, why: `pod changed on the cluster: ${podWhy}` });
    podsToDelete.push(podName(want.member));
  } else if (pod && health?.state === 'failed') {
    plan.recreate.push({ member: want.member, why: health.reason });
    podsToDelete.push(podName(want.member));
  } else {
    plan.unchanged.push(want.member);
  }
}
const hired = new Set(desired.map((w) => w.member));
const memberOf = (m: { metadata: Meta }) => m.metadata.labels?.[MEMBER_LABEL] ?? '';
plan.remove = [...live.statefulSets.values()].filter((s) => !hired.has(memberOf(s))).map((s) => s.metadata.name).sort();
plan.removeConfigMaps = [...live.configMaps.values()].filter((c) => !hired.has(memberOf(c))).map((c) => c.metadata.name).sort();

if (mode === 'plan') {
  process.stdout.write(`${JSON.stringify({ namespace: d.namespace, context: d.context, namespaceExists, ...plan }, null, 2)}\n`);
  process.exit(0);
}

const secret = secretManifest(d, credentials);

if (mode === 'dry-run') {
  const shown = [namespaceManifest(d), secretManifest(d, credentials, true), ...desired.flatMap((w) => [w.config, w.statefulSet])];
  process.stdout.write(shown.map((m) => `---\n${stringify(m, { lineWidth: 0 })}`).join(''));
  for (const line of describePlan(plan)) log(`# ${line}`);
  // Namespaced objects need an existing namespace to be checked; before the first deploy they
  // are checked in `default`.
  const where = namespaceExists ? d.namespace : 'default';
  const moved = (m: Record<string, unknown>) => ({ ...m, metadata: { ...(m.metadata as object), namespace: where } });
  const apply = ['apply', '--server-side', '--field-manager=bm', '--force-conflicts', '--dry-run=server', '-f', '-'];
  const checks = [
    await kubectl(d, apply, documents([namespaceManifest(d)])),
    await kubectl(d, apply, documents([moved(secret), ...desired.flatMap((w) => [moved(w.config), moved(w.statefulSet)])])),
  ];
  const failed = checks.find((c) => c.exitCode !== 0);
  if (failed) fail(`The API server rejected the manifests: ${failed.stderr.trim().split('\n').pop()}`, 'Fix formation.yml or the member files, then try again.');
  log(`# The API server accepted every manifest (dry run in namespace ${where}; nothing was changed).`);
  process.exit(0);
}

// Deploy. Namespace and Secret first, by server-side apply: it adds no last-applied annotation,
// so the token is stored only in the Secret's data.
const apply = ['apply', '--server-side', '--field-manager=bm', '--force-conflicts', '-f', '-'];
const base = await kubectl(d, apply, documents([namespaceManifest(d), secret]));
if (base.exitCode !== 0) failWith(d, base, `Could not apply namespace ${d.namespace} and its Secret`);

if (plan.remove.length > 0) {
  // Background cascade: the StatefulSet goes at once and the garbage collector takes its pod.
  const del = await kubectl(d, ['delete', 'statefulset', '-n', d.namespace, ...plan.remove, '--ignore-not-found', '--wait=false']);
  if (del.exitCode !== 0) failWith(d, del, `Could not delete StatefulSets ${plan.remove.join(', ')}`);
}
if (plan.removeConfigMaps.length > 0) {
  const del = await kubectl(d, ['delete', 'configmap', '-n', d.namespace, ...plan.removeConfigMaps, '--ignore-not-found', '--wait=false']);
  if (del.exitCode !== 0) failWith(d, del, `Could not delete ConfigMaps ${plan.removeConfigMaps.join(', ')}`);
}

if (desired.length > 0) {
  // ConfigMaps before StatefulSets: a new pod mounts its ConfigMap.
  const cms = await kubectl(d, apply, documents(desired.map((w) => w.config)));
  if (cms.exitCode !== 0) failWith(d, cms, 'Could not apply the member ConfigMaps');
  const sets = await kubectl(d, apply, documents(desired.map((w) => w.statefulSet)));
  if (sets.exitCode !== 0) failWith(d, sets, 'Could not apply the member StatefulSets');
}
if (podsToDelete.length > 0) {
  const del = await kubectl(d, ['delete', 'pod', '-n', d.namespace, ...podsToDelete, '--ignore-not-found', '--wait=false']);
  if (del.exitCode !== 0) failWith(d, del, `Could not replace pods ${podsToDelete.join(', ')}`);
}

for (const line of describePlan(plan)) log(line);
log(`Deployed team ${d.team} to namespace ${d.namespace} (context ${d.context}).`);

function describePlan(p: Plan): string[] {
  return [
    ...p.create.map((m) => `${m}: created`),
    ...p.recreate.map((r) => `${r.member}: recreated (${r.why})`),
    ...p.unchanged.map((m) => `${m}: unchanged (healthy)`),
    ...p.remove.map((m) => `${m}: deleted (no longer a member of the team)`),
    ...p.restore.map((o) => `${o}: restored (deleted on the cluster)`),
  ];
}
