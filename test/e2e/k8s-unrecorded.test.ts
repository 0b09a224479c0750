/**
 * Pods bm has no record of (kube-sim, real kubectl): a deploy that fails part-way still records
 * the pods it left, and a pod carrying the team's labels in another namespace (an earlier
 * namespace prefix) or left after the record was lost is reported by `bm status` and removed by
 * `bm stop`. Each test ends with the sandbox's orphan check.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectlTest } from '../support/kube-sim/kubectl.ts';
import { SimPerTest, TEAM_SELECTOR, eventually, topologyOf, type K8sWorld } from '../support/k8s-scenarios.ts';

const withKubectl = await kubectlTest(test, 'k8s unrecorded pods');
const sims = new SimPerTest(test);

interface StatusJson { members: { name: string; status: string; detail?: string }[]; warnings: string[] }

/** The team's pods in every namespace, as `namespace/name`, sorted. */
async function allPods(w: K8sWorld): Promise<string[]> {
  const got = await w.kubectl(['get', 'pods', '--all-namespaces', '-l', TEAM_SELECTOR, '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
  assert.is(got.code, 0, got.stderr);
  return got.stdout.split('\n').filter(Boolean).sort();
}

async function status(w: K8sWorld): Promise<StatusJson> {
  const got = await w.bm(['status', '--json']);
  assert.is(got.code, 0, got.stderr);
  return JSON.parse(got.stdout) as StatusJson;
}

const contextsOf = (w: K8sWorld) => {
  const file = path.join(w.teamDir, 'clusters.json');
  return existsSync(file) ? Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { contexts: object }).contexts) : [];
};

withKubectl('a deploy that fails part-way records the pods it left: status shows them, stop removes them', async () => {
  const w = await sims.setup(['dev:alice', 'qe:quinn']);
  await sims.cluster.fault({ kind: 'config-error', name: 'qe-quinn-0', message: 'secret "missing" not found' });
  const failed = await w.bm(['start', '--formation', 'k8s']);
  assert.is(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /qe-quinn: not ready: CreateContainerConfigError/);
  assert.match(failed.stderr, /The deploy failed part-way; the 2 pod\(s\) it left are recorded: `bm status` shows them, `bm stop` removes them/);
  const recorded = topologyOf(w);
  assert.is(recorded.formation, 'k8s');
  assert.equal(recorded.members['dev-alice'].endpoint, { type: 'k8s', context: w.cluster.context, namespace: w.namespace, pod: 'dev-alice-0', container: 'ralph', statefulset: 'dev-alice' });
  assert.ok(recorded.members['qe-quinn'], 'the failing pod is recorded too');

  const shown = await status(w);
  const rows = Object.fromEntries(shown.members.map((m) => [m.name, m]));
  assert.is(rows['dev-alice'].status, 'running');
  assert.is(rows['qe-quinn'].status, 'error');
  assert.match(rows['qe-quinn'].detail ?? '', /CreateContainerConfigError/);
  assert.equal(shown.warnings, []);
  const local = await w.bm(['start']);
  assert.is(local.code, 1, 'the team runs on k8s: a local start is refused');
  assert.match(local.stderr, /runs on formation 'k8s' \(2 member\(s\)\)/);

  const stopped = await w.bm(['stop', '-f']);
  assert.is(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /Stopped 2 member\(s\), 0 error\(s\)/);
  assert.equal(await allPods(w), []);
  assert.not.ok(existsSync(path.join(w.teamDir, 'topology.json')));
  assert.equal(contextsOf(w), [], 'a stop that saw nothing left forgets the context');
});

withKubectl('a labelled pod in another namespace, and pods left after the record was lost: status warns, stop removes them', async () => {
  const w = await sims.setup(['dev:alice']);
  const deployed = await w.bm(['start', '--formation', 'k8s']);
  assert.is(deployed.code, 0, deployed.stderr);
  assert.equal(contextsOf(w), [w.cluster.context]);

  // A pod of an earlier deploy with another namespace_prefix.
  const manifest = path.join(w.sandbox.dir, 'stray.yaml');
  const labels = { 'app.kubernetes.io/managed-by': 'bm', 'botminter.dev/team': 'alpha', 'botminter.dev/member': 'dev-alice' };
  writeFileSync(manifest, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'oldprefix-alpha' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dev-alice-0', namespace: 'oldprefix-alpha', labels }, spec: { containers: [{ name: 'ralph', image: w.cluster.image }] } },
  ].map((doc) => `---\n${JSON.stringify(doc)}\n`).join(''));
  const made = await w.kubectl(['apply', '-f', manifest]);
  assert.is(made.code, 0, made.stderr);
  assert.equal(await allPods(w), ['botminter-alpha/dev-alice-0', 'oldprefix-alpha/dev-alice-0']);

  const shown = await status(w);
  assert.is(shown.members.find((m) => m.name === 'dev-alice')?.status, 'running');
  assert.equal(shown.warnings, [`dev-alice: pod oldprefix-alpha/dev-alice-0 (context ${w.cluster.context}) carries the labels of team 'alpha' but bm has no record of it; \`bm stop dev-alice -t alpha\` removes it.`]);
  const table = await w.bm(['status']);
  assert.match(table.stderr, /Warning: dev-alice: pod oldprefix-alpha\/dev-alice-0 .* `bm stop dev-alice -t alpha` removes it/);

  // The record is lost: both pods are still found through the remembered context.
  rmSync(path.join(w.teamDir, 'topology.json'));
  const lost = await status(w);
  assert.ok(lost.members.every((m) => m.status === 'stopped'), 'nothing is recorded as running');
  assert.is(lost.warnings.length, 2, lost.warnings.join('\n'));
  assert.match(lost.warnings.join('\n'), /pod botminter-alpha\/dev-alice-0 .* no record of it/);

  const stopped = await w.bm(['stop', '-f']);
  assert.is(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /dev-alice \(pod oldprefix-alpha\/dev-alice-0 with no record\): stopped/);
  assert.match(stopped.stderr, /dev-alice \(pod botminter-alpha\/dev-alice-0 with no record\): stopped/);
  await eventually('no pod of the team is left', async () => (await allPods(w)).length === 0);
  assert.equal((await status(w)).warnings, []);
  assert.equal(contextsOf(w), []);
});

test.run();
