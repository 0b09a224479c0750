/**
 * The k8s formation against kube-sim, through the real CLI and real kubectl: the shared
 * lifecycle scenario (test/support/k8s-scenarios.ts), then what is awkward to stage on kind:
 * the manager run through ralph, a dry run, an unreachable cluster, an image that cannot be
 * pulled, and the confirmation before a disruptive deploy.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { restrictedViolations } from '../support/kube-sim/pod-security.ts';
import { kubectlTest } from '../support/kube-sim/kubectl.ts';
import { BM_COMMAND } from '../support/sandbox.ts';
import { SimPerTest, TOKEN, assertTokenNeverLeaked, driftScenario, eventually, lifecycleScenario, topologyOf, type K8sWorld } from '../support/k8s-scenarios.ts';

/** Every test here deploys with real kubectl: skipped, with the reason, when it is missing or too old. */
const withKubectl = await kubectlTest(test, 'k8s formation');
const sims = new SimPerTest(test);
const setup = (hires: string[], runner: 'script' | 'ralph' = 'script') => sims.setup(hires, runner);

withKubectl('deploy, idempotent re-run, changed member, fired member, live status, hung API, stop', async () => {
  await lifecycleScenario(await setup(['dev:alice', 'qe:quinn', 'reviewer:rita']));
});

withKubectl('token rotation and drift: the live objects are compared with what was deployed and put back', async () => {
  await driftScenario(await setup(['dev:alice', 'qe:quinn']));
});

withKubectl('runner ralph: the manager is a one-shot ralph session in the formation directory', async () => {
  const w = await setup(['dev:alice'], 'ralph');
  const log = path.join(w.sandbox.dir, 'stub-calls.jsonl');
  const result = await w.bm(['start', '--formation', 'k8s'], { BM_STUB_LOG: log, STUB_RALPH_MODE: 'formation', STUB_RALPH_DELAY_MS: '50' });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /Formation 'k8s' deployed successfully/);
  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; cwd: string; env: Record<string, string> });
  assert.is(calls.length, 1);
  const formationDir = path.join(w.repo, 'formations', 'k8s');
  assert.is(calls[0].cwd, formationDir);
  assert.equal(calls[0].argv, ['run', '-c', path.join(formationDir, 'ralph.yml'), '-P', path.join(formationDir, 'PROMPT.md')]);
  assert.is(calls[0].env.BM_TEAM_NAME, 'alpha');
  assert.is(calls[0].env.BM_TEAM_REPO, w.repo);
  assert.is(calls[0].env.BM_WORKZONE, w.sandbox.workzone);
  assert.is(calls[0].env.BM_HOME, w.sandbox.bmHome);
  assert.is(calls[0].env.GH_TOKEN, TOKEN, 'the token reaches the manager through its environment');
  assert.ok(existsSync(path.join(w.teamDir, 'topology.json')));

  // A manager that fails leaves the topology it had and says so.
  const failed = await w.bm(['start', '--formation', 'k8s'], { BM_STUB_LOG: log, STUB_RALPH_MODE: 'oneshot', STUB_RALPH_EXIT: '1', STUB_RALPH_DELAY_MS: '10' });
  assert.is(failed.code, 1);
  assert.match(failed.stderr, /Error: Formation manager 'k8s' failed \(exit code: 1\)/);
});

withKubectl('runner ralph: a manager that writes no topology is an error', async () => {
  const w = await setup(['dev:alice'], 'ralph');
  const result = await w.bm(['start', '--formation', 'k8s'], { STUB_RALPH_MODE: 'oneshot', STUB_RALPH_DELAY_MS: '10', BM_STUB_LOG: path.join(w.sandbox.dir, 'calls.jsonl') });
  assert.is(result.code, 1);
  assert.match(result.stderr, /Formation manager completed but no topology file was written at .*topology\.json/);
});

withKubectl('--dry-run prints the manifests with the secret redacted, checked by the server, and changes nothing', async () => {
  const w = await setup(['dev:alice', 'qe:quinn']);
  const result = await w.bm(['start', '--formation', 'k8s', '--dry-run']);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /kind: Namespace/);
  assert.match(result.stdout, /kind: Secret[\s\S]*gh-token: PHJlZGFjdGVkPg==/, 'Secret values are a valid base64 placeholder');
  assert.match(result.stdout, /kind: StatefulSet[\s\S]*name: dev-alice[\s\S]*imagePullPolicy: IfNotPresent/);
  assert.match(result.stderr, /The API server accepted every manifest/);
  // Every printed manifest is valid against the official schemas, and the pods pass Pod Security "restricted".
  const docs = parseAllDocuments(result.stdout).map((doc) => doc.toJS() as { kind: string; metadata: { name: string; labels: Record<string, string> }; spec?: { template: { spec: Record<string, unknown> } } });
  assert.equal(docs.map((doc) => doc.kind), ['Namespace', 'Secret', 'ConfigMap', 'StatefulSet', 'ConfigMap', 'StatefulSet']);
  const models: Record<string, { new (data: object): { validate(): void } }> = { Namespace, Secret, ConfigMap, StatefulSet };
  for (const doc of docs) {
    try {
      new models[doc.kind](doc).validate();
    } catch (error) {
      assert.unreachable(`${doc.kind} ${doc.metadata.name} fails the schema: ${(error as Error).message}`);
    }
    for (const label of ['name', 'instance', 'component', 'part-of', 'managed-by']) assert.ok(doc.metadata.labels[`app.kubernetes.io/${label}`], `${doc.kind} has app.kubernetes.io/${label}`);
    if (doc.kind === 'StatefulSet') assert.equal(restrictedViolations(doc.spec?.template.spec ?? {}), [], `${doc.metadata.name} passes Pod Security "restricted"`);
  }
  assert.is((await w.kubectl(['get', 'namespace', w.namespace, '--ignore-not-found', '-o', 'name'])).stdout.trim(), '', 'no namespace was created');
  assert.not.ok(existsSync(path.join(w.teamDir, 'topology.json')));
  const dryRuns = (await sims.cluster.requests()).filter((r) => r.method !== 'GET');
  assert.ok(dryRuns.length > 0 && dryRuns.every((r) => r.path.includes('dryRun=All')), 'every write was a server-side dry run');
  assertTokenNeverLeaked(w, [result]);
});

withKubectl('an unreachable cluster fails with the kind command to run', async () => {
  const w = await setup(['dev:alice']);
  await sims.cluster.fault({ kind: 'refuse' });
  const result = await w.bm(['start', '--formation', 'k8s']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /Error: Cannot reach the Kubernetes cluster of context 'kind-botminter'/, result.stderr);
  assert.match(result.stderr, /kind create cluster --name botminter/);
  assert.match(result.stderr, /Formation manager 'k8s' failed/);
  assert.not.ok(existsSync(path.join(w.teamDir, 'topology.json')));
  assert.not.ok(existsSync(path.join(w.teamDir, 'clusters.json')), 'nothing was deployed: status asks no cluster');
});

withKubectl('an image that cannot be pulled: the verifier names the pod and the reason; the pods are recorded', async () => {
  const w = await setup(['dev:alice', 'qe:quinn']);
  await sims.cluster.fault({ kind: 'image-pull', image: 'bm-member:dev' });
  const result = await w.bm(['start', '--formation', 'k8s']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /dev-alice: not ready: (ErrImagePull|ImagePullBackOff)/);
  assert.match(result.stderr, /qe-quinn: not ready: (ErrImagePull|ImagePullBackOff)/);
  assert.match(result.stderr, /failed \(exit code: 1\) in hats\/verifier\/verify\.ts/);
  assert.match(result.stderr, /The deploy failed part-way; the 2 pod\(s\) it left are recorded/);
  assert.equal(Object.keys(topologyOf(w).members).sort(), ['dev-alice', 'qe-quinn']);

  // Once the image is there the kubelet's retries start the pods, and the next start records them.
  await sims.cluster.clearFaults();
  const retry = await w.bm(['start', '--formation', 'k8s']);
  assert.is(retry.code, 0, retry.stderr);
  for (const pod of (await w.pods()).values()) assert.ok(pod.ready);
  assert.ok(existsSync(path.join(w.teamDir, 'topology.json')));
});

withKubectl('a deleted pod is healed by its StatefulSet; a crash-looping one is reported by status and replaced by the next start', async () => {
  const w = await setup(['dev:alice', 'qe:quinn']);
  assert.is((await w.bm(['start', '--formation', 'k8s'])).code, 0);
  const before = await w.pods();
  assert.is((await w.kubectl(['delete', 'pod', '-n', w.namespace, 'dev-alice-0', '--wait=false'])).code, 0);
  await eventually('the StatefulSet makes a new Ready dev-alice-0', async () => {
    const pod = (await w.pods()).get('dev-alice');
    return Boolean(pod?.ready && pod.uid !== before.get('dev-alice')?.uid);
  });

  await sims.cluster.fault({ kind: 'pod', match: { labels: 'botminter.dev/member=dev-alice' }, behavior: { kind: 'crash', runMs: 100 } });
  await sims.cluster.killPod(w.namespace, 'dev-alice-0', 1);
  const status = JSON.parse((await w.sandbox.ok(['status', '--json'])).stdout) as { members: { name: string; status: string; detail?: string }[] };
  const alice = status.members.find((m) => m.name === 'dev-alice');
  assert.is(alice?.status, 'error');
  assert.match(alice?.detail ?? '', /CrashLoopBackOff/);
  const logs = await w.bm(['logs', 'dev-alice']);
  assert.match(logs.stdout, /container ralph of pod botminter-alpha\/dev-alice-0/, logs.stderr);
  const previous = await w.bm(['logs', 'dev-alice', '--previous']);
  assert.match(previous.stdout, /container ralph of pod botminter-alpha\/dev-alice-0 exited with code 1 \(Error\)/, previous.stderr);
  // The next start replaces it (and, while it still crashes, says so).
  const again = await w.bm(['start', '--formation', 'k8s']);
  assert.is(again.code, 1, again.stderr);
  assert.match(again.stderr, /Deploying: dev-alice is error/, again.stderr);
  assert.match(again.stderr, /dev-alice: recreated \(CrashLoopBackOff/, again.stderr);
  assert.match(again.stderr, /qe-quinn: unchanged/);
  assert.match(again.stderr, /dev-alice: not ready: CrashLoopBackOff/);
  await sims.cluster.clearFaults();
  const healed = await w.bm(['start', '--formation', 'k8s']);
  assert.is(healed.code, 0, healed.stderr);
  const after = await w.pods();
  assert.is(after.get('qe-quinn')?.uid, before.get('qe-quinn')?.uid);
  assert.ok(after.get('dev-alice')?.ready);

  const single = await w.bm(['start', '--formation', 'k8s', 'dev-alice']);
  assert.is(single.code, 2, 'member names are a usage error on k8s');
  assert.match(single.stderr, /deploys the whole team, not single members/);

  // --purge takes the namespace (and with it the Secret) too.
  const purge = await w.bm(['stop', '--purge']);
  assert.is(purge.code, 0, purge.stderr);
  assert.match(purge.stderr, /namespace botminter-alpha: deleted/);
  const ns = await w.kubectl(['get', 'namespace', w.namespace, '-o', 'jsonpath={.status.phase}', '--ignore-not-found']);
  assert.ok(ns.stdout === '' || ns.stdout === 'Terminating', `namespace gone or terminating, got ${ns.stdout}`);
});

/** Runs bm on a pseudo-terminal (util-linux `script`), typing `input`. */
function onTerminal(w: K8sWorld, args: string[], input: string): Promise<{ code: number | null; output: string }> {
  const command = [...BM_COMMAND, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: w.sandbox.env, cwd: w.sandbox.dir });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.write(input);
  });
}

withKubectl('on a terminal, a deploy that would replace a member asks first', async () => {
  const w = await setup(['dev:alice', 'qe:quinn']);
  assert.is((await w.bm(['start', '--formation', 'k8s'])).code, 0);
  const before = await w.pods();
  const prompt = path.join(w.repo, 'members', 'dev-alice', 'PROMPT.md');
  writeFileSync(prompt, `${readFileSync(prompt, 'utf8')}\nNew focus.\n`);
  const declined = await onTerminal(w, ['start', '--formation', 'k8s'], 'n\n');
  assert.is(declined.code, 1, declined.output);
  assert.match(declined.output, /replace dev-alice \(config changed\)/);
  assert.match(declined.output, /Go ahead\? \(y\/N\)/);
  assert.match(declined.output, /Deploy cancelled; nothing was changed/);
  assert.is((await w.pods()).get('dev-alice')?.uid, before.get('dev-alice')?.uid, 'nothing was replaced');

  const forced = await onTerminal(w, ['start', '--formation', 'k8s', '--yes'], '');
  assert.is(forced.code, 0, forced.output);
  assert.not.match(forced.output, /Go ahead/);
  assert.is.not((await w.pods()).get('dev-alice')?.uid, before.get('dev-alice')?.uid, 'replaced with --yes');
});

test.run();
