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
import { interrupt } from '../support/processes.ts';
import { BM_COMMAND } from '../support/sandbox.ts';
import { SimPerTest, TOKEN, assertTokenNeverLeaked, driftScenario, healScenario, lifecycleScenario, purgeScenario, topologyOf, type K8sWorld } from '../support/k8s-scenarios.ts';

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

withKubectl('runner ralph: the manager is a one-shot ralph session whose hats run the scripts in order', async () => {
  const w = await setup(['dev:alice'], 'ralph');
  const log = path.join(w.sandbox.dir, 'stub-calls.jsonl');
  // The stub ralph follows the hats' instructions as the agent would (test/support/stubs/README.md, mode `hats`).
  const result = await w.bm(['start', '--formation', 'k8s'], { BM_STUB_LOG: log, STUB_RALPH_MODE: 'hats' });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /Formation 'k8s' deployed successfully/);
  assert.match(result.stderr, /hat deployer on k8s\.deploy[\s\S]*hat verifier on k8s\.verify[\s\S]*hat topology-writer on k8s\.topology/);
  const formationDir = path.join(w.repo, 'formations', 'k8s');
  const events = readFileSync(path.join(formationDir, readFileSync(path.join(formationDir, '.ralph', 'current-events'), 'utf8').trim()), 'utf8');
  assert.equal(events.trim().split('\n').map((line) => (JSON.parse(line) as { topic: string }).topic), ['task.start', 'k8s.verify', 'k8s.topology', 'LOOP_COMPLETE']);
  assert.ok((await w.pods()).get('dev-alice')?.ready, 'the deployer hat deployed dev-alice and the verifier saw it Ready');
  assert.equal(topologyOf(w).members['dev-alice'].endpoint.pod, 'dev-alice-0', 'the topology writer hat recorded it');
  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; cwd: string; env: Record<string, string> });
  assert.is(calls.length, 1);
  assert.is(calls[0].cwd, formationDir);
  assert.equal(calls[0].argv, ['run', '-c', path.join(formationDir, 'ralph.yml'), '-P', path.join(formationDir, 'PROMPT.md')]);
  assert.is(calls[0].env.BM_TEAM_NAME, 'alpha');
  assert.is(calls[0].env.BM_TEAM_REPO, w.repo);
  assert.is(calls[0].env.BM_WORKZONE, w.sandbox.workzone);
  assert.is(calls[0].env.BM_HOME, w.sandbox.bmHome);
  assert.is(calls[0].env.GH_TOKEN, TOKEN, 'the token reaches the manager through its environment');

  // A hat that publishes an event no hat listens to, and a prompt that no longer names a hat's
  // command, each stop the loop; no topology is written for the attempt.
  const ralphYml = path.join(formationDir, 'ralph.yml');
  const prompt = path.join(formationDir, 'PROMPT.md');
  const good = { ralph: readFileSync(ralphYml, 'utf8'), prompt: readFileSync(prompt, 'utf8') };
  writeFileSync(path.join(w.repo, 'members', 'dev-alice', 'PROMPT.md'), 'Changed, so the manager runs.\n');
  const broken = async (what: string, expected: RegExp) => {
    const run = await w.bm(['start', '--formation', 'k8s'], { STUB_RALPH_MODE: 'hats', BM_STUB_LOG: log });
    assert.is(run.code, 1, `${what}: ${run.stderr}`);
    assert.match(run.stderr, expected, what);
    writeFileSync(ralphYml, good.ralph);
    writeFileSync(prompt, good.prompt);
  };
  writeFileSync(ralphYml, good.ralph.replace('triggers: [k8s.verify]', 'triggers: [k8s.verified]'));
  await broken('a renamed trigger', /event 'k8s\.verify' triggers no hat/);
  writeFileSync(ralphYml, good.ralph.replace('publishes: [k8s.topology]', 'publishes: [k8s.done]'));
  await broken('an undeclared event', /hat verifier published 'k8s\.topology', which is not in its publishes/);
  writeFileSync(prompt, good.prompt.replace('`node hats/verifier/verify.ts`', '`verify`'));
  await broken('a prompt without the verifier', /the prompt never mentions `node hats\/verifier\/verify\.ts`/);

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
  // Two projects: each member gets one workspace per project, each rendered with its project.
  for (const project of ['widget', 'gadget']) await w.sandbox.ok(['projects', 'add', `https://github.com/acme/${project}.git`, '--no-check']);
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
  // The members' files hold {{member}} and {{project}}; what reaches the cluster holds no placeholder at all.
  const source = readFileSync(path.join(w.repo, 'members', 'dev-alice', 'ralph.yml'), 'utf8');
  assert.ok(source.includes('{{member}}') && source.includes('{{project}}'), 'the source has placeholders to fill');
  assert.not.match(result.stdout, /\{\{[^}]*\}\}/, 'no {{…}} placeholder is left in any manifest');
  const config = docs.find((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === 'dev-alice-config') as unknown as { data: Record<string, string> };
  assert.match(config.data['gadget.ralph.yml'], /- \.botminter\/projects\/gadget\/coding-agent\/skills\n\s*- \.botminter\/members\/dev-alice\/coding-agent\/skills/);
  assert.match(config.data['widget.ralph.yml'], /\.botminter\/projects\/widget\/coding-agent\/skills/);
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
  const before = await healScenario(w);

  // runMs 0: each restart crashes at once, so no look ever catches the pod between two crashes
  // (running and ready for a moment), which would make the checks below a race.
  await sims.cluster.fault({ kind: 'pod', match: { labels: 'botminter.dev/member=dev-alice' }, behavior: { kind: 'crash', runMs: 0 } });
  await sims.cluster.killPod(w.namespace, 'dev-alice-0', 1);
  const status = JSON.parse((await w.sandbox.ok(['status', '--json'])).stdout) as { members: { name: string; status: string; detail?: string }[] };
  const alice = status.members.find((m) => m.name === 'dev-alice');
  assert.is(alice?.status, 'error');
  assert.match(alice?.detail ?? '', /CrashLoopBackOff/);
  // -v says how often it restarted, how it last ended and what the kubelet reported: with one
  // more request for the namespace's pod events, whatever the number of members.
  const calls = w.kubectlCalls().length;
  await sims.cluster.clearRequests();
  const verbose = JSON.parse((await w.sandbox.ok(['status', '-v', '--json'])).stdout) as { members: { name: string; pod?: { restarts: number; lastTermination: { reason: string; exitCode: number } | null; events: string[] } }[] };
  const pod = verbose.members.find((m) => m.name === 'dev-alice')?.pod;
  assert.ok(pod && pod.restarts >= 1, `restarts counted: ${JSON.stringify(pod)}`);
  assert.equal([pod?.lastTermination?.reason, pod?.lastTermination?.exitCode], ['Error', 1]);
  assert.ok(pod && pod.events.length > 0 && pod.events.length <= 5, `the last events: ${JSON.stringify(pod?.events)}`);
  assert.ok(pod?.events.some((e) => /Warning BackOff.*: Back-off restarting failed container/.test(e)), `a BackOff event among ${JSON.stringify(pod?.events)}`);
  assert.is(verbose.members.find((m) => m.name === 'qe-quinn')?.pod?.restarts, 0);
  assert.equal(w.kubectlCalls().slice(calls), [], 'no kubectl');
  const eventReads = await sims.cluster.requests({ method: 'GET', path: /\/events\?/ });
  assert.equal(eventReads.map((r) => r.path), [`/api/v1/namespaces/${w.namespace}/events?fieldSelector=involvedObject.kind%3DPod`], 'one events request');
  const table = await w.sandbox.ok(['status', '-v']);
  assert.match(table.stdout, /── dev-alice \(pod\/dev-alice-0\) ──\n {2}Restarts: +[1-9]\d*\n {2}Last termination: Error \(exit 1\), container ralph/);
  assert.match(table.stdout, /Last events:\n(.*\n)*? {4}\S+ Warning BackOff/);
  const logs = await w.bm(['logs', 'dev-alice']);
  assert.match(logs.stdout, /container ralph of pod botminter-alpha\/dev-alice-0/, logs.stderr);
  // Followed, the log stays open until Ctrl-C, which ends bm and its kubectl (the sandbox's orphan
  // check); attach follows a pod member's output the same way.
  const followed = await untilInterrupted(w, ['logs', 'dev-alice', '-f'], /container ralph of pod botminter-alpha\/dev-alice-0/);
  assert.is(followed.code, 0, followed.output);
  const attached = await untilInterrupted(w, ['attach', 'dev-alice'], /container ralph of pod botminter-alpha\/dev-alice-0/);
  assert.is(attached.code, 0, attached.output);
  assert.match(attached.output, /dev-alice runs in pod botminter-alpha\/dev-alice-0; following its output/);
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
  await purgeScenario(w);
});

/** Runs `bm args` until its output matches `ready`, then interrupts it as Ctrl-C does (SIGINT): how it ended. */
function untilInterrupted(w: K8sWorld, args: string[], ready: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), ...args], { env: w.sandbox.env, cwd: w.sandbox.dir });
    let output = '';
    let interrupted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const seen = (chunk: Buffer) => {
      output += chunk;
      if (!interrupted && ready.test(output)) {
        interrupted = true;
        interrupt(child);
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

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
