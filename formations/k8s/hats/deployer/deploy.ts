/**
 * The deployer hat: brings the team's namespace, credentials Secret, member ConfigMaps and
 * member Pods to the state the team repo describes.
 *
 *   node hats/deployer/deploy.ts             deploy (idempotent)
 *   node hats/deployer/deploy.ts --plan      print what would change, as JSON
 *   node hats/deployer/deploy.ts --dry-run   print the manifests, have the API
 *                                                         server check them, change nothing
 *
 * A pod that is healthy and has the same config hash is left alone; a changed or failed one is
 * deleted (and waited for until it is gone) and created again; pods and ConfigMaps of members
 * who left the team are deleted. The GitHub token reaches kubectl on stdin only.
 */
import path from 'node:path';
import process from 'node:process';
import { $, which } from 'zx/core';
import { stringify } from 'yaml';
import {
  HASH_ANNOTATION, configMapManifest, deployment, fail, kindCluster, lastLine, memberConfig, memberNames,
  namespaceManifest, podHealth, podManifest, podsOf, secretManifest, teamSelector, type Pod,
} from '../../kube.ts';

const mode = process.argv.includes('--dry-run') ? 'dry-run' : process.argv.includes('--plan') ? 'plan' : 'deploy';
const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const k = d.flags;
const quiet = { quiet: true, nothrow: true };
const log = (line: string) => process.stderr.write(`${line}\n`);

if (!(await which('kubectl', { nothrow: true }))) {
  fail('kubectl not found in PATH', 'Install kubectl (https://kubernetes.io/docs/tasks/tools/) and try again.');
}

// One call proves the cluster answers and tells whether the namespace exists.
const ns = await $(quiet)`kubectl ${k} get namespace ${d.namespace} --ignore-not-found -o name`;
if (ns.exitCode !== 0) {
  fail(
    `Cannot reach the Kubernetes cluster of context '${d.context}' (${lastLine(ns.stderr) || `kubectl exit ${ns.exitCode}`})`,
    `Create it with \`kind create cluster --name ${kindCluster(d.context)}\` (or \`npm run kind:up\`), load the member image with \`npm run kind:load\`, then try again.`,
  );
}
const namespaceExists = ns.stdout.trim() !== '';

const ghToken = process.env.GH_TOKEN ?? '';
const telegramToken = process.env.RALPH_TELEGRAM_BOT_TOKEN || undefined;
if (mode === 'deploy' && !ghToken) {
  fail('No GitHub token for the members', 'Set `credentials.gh_token` for the team in BM_HOME/config.yml, or export GH_TOKEN, then try again.');
}

const members = memberNames(d);
const desired = members.map((member) => {
  const data = memberConfig(d, member);
  return { member, config: configMapManifest(d, member, data), pod: podManifest(d, member, data, Boolean(telegramToken)) };
});

async function listTeam(kind: 'pods' | 'configmaps'): Promise<Pod[]> {
  if (!namespaceExists) return [];
  const got = await $(quiet)`kubectl ${k} get ${kind} -n ${d.namespace} -l ${teamSelector(d)} -o json`;
  // kubectl prints an empty List on stdout even when the server failed: trust the exit code.
  if (got.exitCode !== 0) fail(`Could not list the team's ${kind} in namespace ${d.namespace} (${lastLine(got.stderr)})`, 'Check the cluster with `kubectl get pods -A`, then try again.');
  return podsOf(got.stdout);
}

const pods = new Map((await listTeam('pods')).map((p) => [p.metadata.name, p]));
const configMaps = await listTeam('configmaps');

/** What a deploy would do. */
interface Plan {
  create: string[];
  recreate: { member: string; why: string }[];
  unchanged: string[];
  /** Pods and ConfigMaps of members no longer in the team. */
  remove: string[];
  removeConfigMaps: string[];
}

const plan: Plan = { create: [], recreate: [], unchanged: [], remove: [], removeConfigMaps: [] };
for (const want of desired) {
  const pod = pods.get(want.member);
  const hash = (want.pod.metadata as { annotations: Record<string, string> }).annotations[HASH_ANNOTATION];
  if (!pod) plan.create.push(want.member);
  else if (pod.metadata.annotations?.[HASH_ANNOTATION] !== hash) plan.recreate.push({ member: want.member, why: 'config changed' });
  else if (podHealth(pod).state === 'failed') plan.recreate.push({ member: want.member, why: podHealth(pod).reason });
  else plan.unchanged.push(want.member);
}
const hired = new Set(members);
plan.remove = [...pods.keys()].filter((name) => !hired.has(pods.get(name)?.metadata.labels?.member ?? name)).sort();
plan.removeConfigMaps = configMaps.filter((c) => !hired.has(c.metadata.labels?.member ?? '')).map((c) => c.metadata.name).sort();

if (mode === 'plan') {
  process.stdout.write(`${JSON.stringify({ namespace: d.namespace, context: d.context, namespaceExists, ...plan }, null, 2)}\n`);
  process.exit(0);
}

const toStart = new Set([...plan.create, ...plan.recreate.map((r) => r.member)]);
const secret = secretManifest(d, ghToken || 'unset', telegramToken);
// A stream of JSON documents: kubectl reads it like multi-document YAML.
const list = (items: unknown[]) => items.map((item) => `---\n${JSON.stringify(item)}\n`).join('');

if (mode === 'dry-run') {
  const redacted = { ...secret, data: Object.fromEntries(Object.keys(secret.data as object).map((key) => [key, '***'])) };
  const shown = [namespaceManifest(d), redacted, ...desired.map((w) => w.config), ...desired.filter((w) => toStart.has(w.member)).map((w) => w.pod)];
  process.stdout.write(shown.map((m) => `---\n${stringify(m, { lineWidth: 0 })}`).join(''));
  for (const line of describePlan(plan)) log(`# ${line}`);
  // Namespaced objects need an existing namespace to be checked; before the first deploy they are
  // checked in `default`. Pods are checked as new pods (generateName): an existing pod's spec is
  // immutable, and the real deploy deletes it first.
  const where = namespaceExists ? d.namespace : 'default';
  const moved = (m: Record<string, unknown>, asNew = false) => {
    const { name, ...meta } = m.metadata as Record<string, unknown>;
    return { ...m, metadata: { ...meta, ...(asNew ? { generateName: `${String(name)}-` } : { name }), namespace: where } };
  };
  const checks = [
    await $({ ...quiet, input: list([namespaceManifest(d)]) })`kubectl ${k} apply --server-side --field-manager=bm --force-conflicts --dry-run=server -f -`,
    await $({ ...quiet, input: list([moved(secret), ...desired.map((w) => moved(w.config))]) })`kubectl ${k} apply --server-side --field-manager=bm --force-conflicts --dry-run=server -f -`,
  ];
  const newPods = desired.filter((w) => toStart.has(w.member)).map((w) => moved(w.pod, true));
  if (newPods.length > 0) checks.push(await $({ ...quiet, input: list(newPods) })`kubectl ${k} create --dry-run=server -f -`);
  const failed = checks.find((c) => c.exitCode !== 0);
  if (failed) fail(`The API server rejected the manifests: ${lastLine(failed.stderr)}`, 'Fix formation.yml or the member files, then try again.');
  log(`# The API server accepted every manifest (dry run in namespace ${where}; nothing was changed).`);
  process.exit(0);
}

// Deploy. Namespace and Secret first, by server-side apply: it adds no last-applied annotation,
// so the token is stored only in the Secret's data.
const base = await $({ ...quiet, input: list([namespaceManifest(d), secret]) })`kubectl ${k} apply --server-side --field-manager=bm --force-conflicts -f -`;
if (base.exitCode !== 0) fail(`Could not apply namespace ${d.namespace} and its Secret (${lastLine(base.stderr)})`, 'Check the cluster, then try again.');

const doomed = [...plan.recreate.map((r) => r.member), ...plan.remove];
if (doomed.length > 0) {
  const del = await $(quiet)`kubectl ${k} delete pod -n ${d.namespace} ${doomed} --ignore-not-found --wait=false`;
  if (del.exitCode !== 0) fail(`Could not delete pods ${doomed.join(', ')} (${lastLine(del.stderr)})`, 'Check the cluster, then try again.');
  await waitUntilGone(doomed);
}
if (plan.removeConfigMaps.length > 0) {
  const del = await $(quiet)`kubectl ${k} delete configmap -n ${d.namespace} ${plan.removeConfigMaps} --ignore-not-found --wait=false`;
  if (del.exitCode !== 0) fail(`Could not delete ConfigMaps ${plan.removeConfigMaps.join(', ')} (${lastLine(del.stderr)})`, 'Check the cluster, then try again.');
}

if (desired.length > 0) {
  const cms = await $({ ...quiet, input: list(desired.map((w) => w.config)) })`kubectl ${k} apply --server-side --field-manager=bm --force-conflicts -f -`;
  if (cms.exitCode !== 0) fail(`Could not apply the member ConfigMaps (${lastLine(cms.stderr)})`, 'Check the member files, then try again.');
}

const newPods = desired.filter((w) => toStart.has(w.member)).map((w) => w.pod);
if (newPods.length > 0) await createPods(newPods);

for (const line of describePlan(plan)) log(line);
log(`Deployed team ${d.team} to namespace ${d.namespace} (context ${d.context}).`);

/** Polls until none of `names` exists any more: a pod being deleted still blocks its name. */
async function waitUntilGone(names: string[]): Promise<void> {
  const deadline = Date.now() + Number(process.env.BM_K8S_DELETE_TIMEOUT_MS ?? 120_000);
  for (;;) {
    const got = await $(quiet)`kubectl ${k} get pods -n ${d.namespace} -l ${teamSelector(d)} -o json`;
    if (got.exitCode === 0) {
      const left = podsOf(got.stdout).map((p) => p.metadata.name).filter((n) => names.includes(n));
      if (left.length === 0) return;
      if (Date.now() > deadline) fail(`Pods ${left.join(', ')} are still terminating`, `Wait, or run \`kubectl --context ${d.context} delete pod -n ${d.namespace} ${left.join(' ')} --force\`, then try again.`);
    } else if (Date.now() > deadline) {
      fail(`Could not check that the old pods are gone (${lastLine(got.stderr)})`, 'Check the cluster, then try again.');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Creates the pods; a fresh namespace may not have its default ServiceAccount yet, so retry that. */
async function createPods(manifests: unknown[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const made = await $({ ...quiet, input: list(manifests) })`kubectl ${k} apply --server-side --field-manager=bm --force-conflicts -f -`;
    if (made.exitCode === 0) return;
    if (!/serviceaccount.*not found/i.test(made.stderr) || Date.now() > deadline) {
      fail(`Could not create the member pods (${lastLine(made.stderr)})`, 'Check the cluster and formation.yml, then try again.');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function describePlan(p: Plan): string[] {
  return [
    ...p.create.map((m) => `${m}: created`),
    ...p.recreate.map((r) => `${r.member}: recreated (${r.why})`),
    ...p.unchanged.map((m) => `${m}: unchanged (healthy)`),
    ...p.remove.map((m) => `${m}: deleted (no longer a member of the team)`),
  ];
}
