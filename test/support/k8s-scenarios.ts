/**
 * The k8s formation scenarios, written once against a `ClusterHarness` and run twice: against
 * kube-sim in the default suite (test/e2e/k8s-formation.test.ts) and against a throwaway kind
 * cluster in the gated suite (test/kind/k8s-formation.test.ts).
 *
 * Every kubectl the formation runs goes through a recording wrapper first on PATH, so the
 * scenarios can assert that each call names the context and a request timeout, and that the
 * GitHub token never appears in any argv.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { startKubeSim, type KubeSim } from './kube-sim/index.ts';
import { preparedSandbox, type RunResult, type Sandbox } from './sandbox.ts';

const run = promisify(execFile);

/** A cluster the scenarios deploy to. */
export interface ClusterHarness {
  kubeconfigPath: string;
  context: string;
  /** The member image the cluster can run (kind: loaded; kube-sim: any). */
  image: string;
  /** Environment for kubectl: KUBECONFIG and a private discovery cache. */
  env: Record<string, string>;
  /**
   * Serves a bare git repo where the member pods can clone it, when they cannot reach a path on
   * this machine (a real cluster); returns the URL and how to stop serving. kube-sim runs no
   * init container, so it needs none.
   */
  serveRepo?(bare: string): Promise<{ url: string; stop(): void }>;
  /** Makes the API server accept connections but never answer, until `restore()`. */
  makeUnreachable(): Promise<void>;
  restore(): Promise<void>;
  dispose(): Promise<void>;
}

/** kube-sim as a ClusterHarness: "unreachable" is an API server that accepts connections and never answers. */
export function simCluster(sim: KubeSim): ClusterHarness {
  return {
    kubeconfigPath: sim.kubeconfigPath,
    context: sim.context,
    image: 'bm-member:dev',
    env: { KUBECONFIG: sim.env.KUBECONFIG, KUBECACHEDIR: sim.env.KUBECACHEDIR },
    makeUnreachable: () => sim.fault({ kind: 'hang' }),
    restore: () => sim.clearFaults(),
    dispose: () => sim.stop(),
  };
}

/** The labels that select every object bm deploys for team alpha. */
export const TEAM_SELECTOR = 'app.kubernetes.io/managed-by=bm,botminter.dev/team=alpha';

/** A test token: shaped like a GitHub token, so `redact()` would mask it too. */
export const TOKEN = 'ghp_k8sFormationTest0123456789abcdefABCD';

/** One scenario run: a sandbox with a team, wired to the cluster. */
export interface K8sWorld {
  sandbox: Sandbox;
  cluster: ClusterHarness;
  repo: string;
  teamDir: string;
  namespace: string;
  /** Every kubectl argv the formation ran, one line each. */
  kubectlLog: string;
  bm(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  pods(): Promise<Map<string, { uid: string; ready: boolean; phase: string }>>;
  kubectlCalls(): string[][];
  cleanup(): Promise<void>;
}

/** Creates a team `alpha` with the given hires whose k8s formation targets `cluster`. */
export async function k8sWorld(cluster: ClusterHarness, hires: string[], runner: 'script' | 'ralph' = 'script'): Promise<K8sWorld> {
  const env = { GH_TOKEN: TOKEN, KUBECONFIG: cluster.env.KUBECONFIG, KUBECACHEDIR: cluster.env.KUBECACHEDIR ?? '', BM_K8S_VERIFY_TIMEOUT_MS: '30000', BM_STOP_GRACE_MS: '30000' };
  // The member pods clone the team repo from its remote. Made once per set of hires, then copied.
  const remote = (dir: string) => path.join(dir, 'alpha-team.git');
  const sandbox = await preparedSandbox(`k8s ${hires.join(' ')}`, async (s) => {
    await run('git', ['init', '-q', '--bare', '-b', 'main', remote(s.dir)]);
    await s.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', s.workzone, '--no-github', '--remote', remote(s.dir)]);
    for (const hire of hires) {
      const [role, name] = hire.split(':');
      await s.ok(['hire', role, '--name', name]);
    }
  }, env);
  const bin = path.join(sandbox.dir, 'kubectl-bin');
  const kubectlLog = path.join(sandbox.dir, 'kubectl-argv.log');
  const realKubectl = (await run('sh', ['-c', 'command -v kubectl'])).stdout.trim();
  mkdirSync(bin);
  // One line per call: the arguments separated by NUL-free tabs (test argv never holds a tab).
  writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh\n(IFS='\t'; printf '%s\\n' "$*") >> '${kubectlLog}'\nexec '${realKubectl}' "$@"\n`);
  chmodSync(path.join(bin, 'kubectl'), 0o755);
  sandbox.env.PATH = `${bin}${path.delimiter}${sandbox.env.PATH}`;
  const teamDir = path.join(sandbox.workzone, 'alpha');
  const repo = path.join(teamDir, 'team');
  const served = await cluster.serveRepo?.(remote(sandbox.dir));
  if (served) await run('git', ['-C', repo, 'remote', 'set-url', 'origin', served.url]);
  const formationFile = path.join(repo, 'formations', 'k8s', 'formation.yml');
  const text = readFileSync(formationFile, 'utf8')
    .replace(/^( {2}context:).*$/m, `$1 ${cluster.context}`)
    .replace(/^( {2}image:).*$/m, `$1 ${cluster.image}`)
    .replace(/^( {2}runner:).*$/m, `$1 ${runner}`);
  writeFileSync(formationFile, text);

  const kubectl = async (args: string[]) => {
    try {
      const r = await run('kubectl', ['--context', cluster.context, '--request-timeout=10s', ...args], { env: { ...process.env, ...cluster.env } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const namespace = 'botminter-alpha';
  return {
    sandbox,
    cluster,
    repo,
    teamDir,
    namespace,
    kubectlLog,
    bm: (args, env) => sandbox.bm(args, { env, timeoutMs: 120_000 }),
    kubectl,
    async pods() {
      const got = await kubectl(['get', 'pods', '-n', namespace, '-l', TEAM_SELECTOR, '-o', 'json']);
      assert.is(got.code, 0, `kubectl get pods: ${got.stderr}`);
      const items = (JSON.parse(got.stdout) as { items: { metadata: { name: string; uid: string; labels: Record<string, string> }; status?: { phase?: string; conditions?: { type: string; status: string }[] } }[] }).items;
      // By member: each member's one pod is `<member>-0`, made by its StatefulSet.
      return new Map(items.map((p) => [p.metadata.labels['botminter.dev/member'], {
        uid: p.metadata.uid,
        phase: p.status?.phase ?? '',
        ready: Boolean(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
      }]));
    },
    kubectlCalls() {
      if (!existsSync(kubectlLog)) return [];
      return readFileSync(kubectlLog, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t'));
    },
    async cleanup() {
      served?.stop();
      sandbox.cleanup();
    },
  };
}

/**
 * A fresh cluster and a world of their own for each test of a file. One kube-sim process serves
 * the whole file (starting one costs seconds): after each test it is wiped back to a new cluster
 * (objects, faults and request log), and stopped after the last.
 */
export class SimPerTest {
  private sim: Promise<KubeSim> | undefined;
  private started: KubeSim | undefined;
  private world: K8sWorld | undefined;

  constructor(test: Test) {
    test.after.each(async () => {
      await this.world?.cleanup();
      this.world = undefined;
      await this.started?.reset({ state: true });
    });
    test.after(async () => {
      await this.started?.stop();
    });
  }

  /** This test's kube-sim, fresh, and a team with `hires` deploying to it. */
  async setup(hires: string[], runner: 'script' | 'ralph' = 'script'): Promise<K8sWorld> {
    this.sim ??= startKubeSim({ timeScale: 0.05 });
    this.started = await this.sim;
    this.world = await k8sWorld(simCluster(this.started), hires, runner);
    return this.world;
  }

  /** This test's kube-sim (after `setup`). */
  get cluster(): KubeSim {
    if (!this.started) throw new Error('SimPerTest: call setup() first');
    return this.started;
  }
}

/** Waits (polling, up to `timeoutMs`) until `condition` holds; fails with `what` otherwise. */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every file under `dir` (no symlinks followed). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isSymbolicLink()) return [];
    return e.isDirectory() ? filesUnder(full) : [full];
  });
}

/** Asserts that the tokens are in no kubectl argv and in no file of the sandbox but the operator config. */
export function assertTokenNeverLeaked(world: K8sWorld, outputs: RunResult[], tokens: string[] = [TOKEN]): void {
  const calls = world.kubectlCalls();
  assert.ok(calls.length > 0, 'the formation ran kubectl');
  for (const argv of calls) {
    const line = argv.join(' ');
    assert.not.ok(tokens.some((t) => line.includes(t)), `token on a kubectl command line: ${line}`);
    assert.ok(argv.includes('--context') && argv[argv.indexOf('--context') + 1] === world.cluster.context, `kubectl without --context: ${line}`);
    assert.ok(argv.some((a) => a.startsWith('--request-timeout')), `kubectl without --request-timeout: ${line}`);
  }
  for (const r of outputs) {
    assert.not.ok(tokens.some((t) => r.stdout.includes(t) || r.stderr.includes(t)), 'token in bm output');
  }
  const config = path.join(world.sandbox.bmHome, 'config.yml');
  for (const file of filesUnder(world.sandbox.dir)) {
    if (file === config || statSync(file).size > 5_000_000) continue;
    const text = readFileSync(file, 'utf8');
    assert.not.ok(tokens.some((t) => text.includes(t)), `token written to ${file}`);
  }
}

interface Topology { formation: string; members: Record<string, { endpoint: { type: string; context: string; namespace: string; pod: string; container: string; statefulset?: string } }> }

/** Reads the team's topology.json. */
export function topologyOf(world: K8sWorld): Topology {
  return JSON.parse(readFileSync(path.join(world.teamDir, 'topology.json'), 'utf8')) as Topology;
}

/** The team's ConfigMaps, as `configmap/<name>`, sorted. */
async function configMaps(world: K8sWorld): Promise<string[]> {
  const got = await world.kubectl(['get', 'configmaps', '-n', world.namespace, '-l', TEAM_SELECTOR, '-o', 'name']);
  assert.is(got.code, 0, got.stderr);
  return got.stdout.split('\n').filter(Boolean).sort();
}

interface StatusJson { formation: string | null; members: { name: string; status: string; endpoint: { type: string; pod?: string } | null }[]; warnings: string[] }

/**
 * The main scenario: deploy three members, a second start that does nothing, a changed member
 * recreated alone, a fired member reconciled away, live status, an API that hangs, and stop.
 */
export async function lifecycleScenario(world: K8sWorld): Promise<void> {
  const outputs: RunResult[] = [];
  const first = await world.bm(['start', '--formation', 'k8s']);
  outputs.push(first);
  assert.is(first.code, 0, `first start failed:\n${first.stderr}`);
  assert.match(first.stdout, /Deployed 3 member\(s\) with formation 'k8s'/);
  assert.match(first.stderr, /Launching formation manager for 'k8s' formation/);

  const pods = await world.pods();
  assert.equal([...pods.keys()].sort(), ['dev-alice', 'qe-quinn', 'reviewer-rita']);
  for (const [name, pod] of pods) assert.ok(pod.ready, `${name} is Ready`);
  const secret = await world.kubectl(['get', 'secret', 'botminter-credentials', '-n', world.namespace, '-o', 'json']);
  assert.is(secret.code, 0, 'the credentials Secret exists');
  const data = (JSON.parse(secret.stdout) as { data: Record<string, string>; metadata: { annotations?: Record<string, string> } });
  assert.is(Buffer.from(data.data['gh-token'], 'base64').toString('utf8'), TOKEN);
  assert.not.ok(JSON.stringify(data.metadata.annotations ?? {}).includes(Buffer.from(TOKEN).toString('base64')), 'no copy of the token in annotations');
  const topology = topologyOf(world);
  assert.is(topology.formation, 'k8s');
  assert.equal(Object.keys(topology.members).sort(), ['dev-alice', 'qe-quinn', 'reviewer-rita']);
  assert.equal(topology.members['dev-alice'].endpoint, { type: 'k8s', context: world.cluster.context, namespace: world.namespace, pod: 'dev-alice-0', container: 'ralph', statefulset: 'dev-alice' });
  assert.is(statSync(path.join(world.teamDir, 'topology.json')).mode & 0o777, 0o600);

  // A second start finds everything healthy and unchanged: no manager, and no kubectl (bm reads
  // the cluster with its own client, lib/kube-api.ts).
  const callsBefore = world.kubectlCalls().length;
  const second = await world.bm(['start', '--formation', 'k8s']);
  outputs.push(second);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /is up to date: 3 member\(s\) running/);
  assert.not.match(second.stderr, /Launching formation manager/);
  const reads = world.kubectlCalls().slice(callsBefore);
  assert.equal(reads, [], 'the second start ran no kubectl');

  // One member's prompt changes: only that pod is recreated.
  writeFileSync(path.join(world.repo, 'members', 'dev-alice', 'PROMPT.md'), `${readFileSync(path.join(world.repo, 'members', 'dev-alice', 'PROMPT.md'), 'utf8')}\nFocus on the flaky tests first.\n`);
  const third = await world.bm(['start', '--formation', 'k8s']);
  outputs.push(third);
  assert.is(third.code, 0, third.stderr);
  assert.match(third.stderr, /dev-alice: recreated \(config changed\)/);
  const after = await world.pods();
  assert.is.not(after.get('dev-alice')?.uid, pods.get('dev-alice')?.uid, 'dev-alice was recreated');
  assert.is(after.get('qe-quinn')?.uid, pods.get('qe-quinn')?.uid, 'qe-quinn was left alone');
  assert.is(after.get('reviewer-rita')?.uid, pods.get('reviewer-rita')?.uid, 'reviewer-rita was left alone');
  assert.ok(after.get('dev-alice')?.ready, 'the new dev-alice is Ready');

  // `bm fire` stops the member first: its pod and ConfigMap go at once.
  await world.sandbox.ok(['fire', 'qe-quinn', '--yes']);
  assert.equal([...(await world.pods()).keys()].sort(), ['dev-alice', 'reviewer-rita']);
  assert.equal(await configMaps(world), ['configmap/dev-alice-config', 'configmap/reviewer-rita-config']);

  // A member removed from the team repo behind bm's back (another operator's commit) is
  // reconciled away by the next start.
  rmSync(path.join(world.repo, 'members', 'reviewer-rita'), { recursive: true });
  const fourth = await world.bm(['start', '--formation', 'k8s']);
  outputs.push(fourth);
  assert.is(fourth.code, 0, fourth.stderr);
  assert.match(fourth.stderr, /reviewer-rita: deleted \(no longer a member of the team\)/);
  assert.match(fourth.stderr, /dev-alice: unchanged/);
  assert.equal([...(await world.pods()).keys()], ['dev-alice']);
  assert.equal(await configMaps(world), ['configmap/dev-alice-config']);
  assert.equal(Object.keys(topologyOf(world).members), ['dev-alice']);

  // Status is live.
  const status = JSON.parse((await world.sandbox.ok(['status', '--json'])).stdout) as StatusJson;
  assert.is(status.formation, 'k8s');
  const rows = Object.fromEntries(status.members.map((m) => [m.name, m]));
  assert.is(rows['dev-alice'].status, 'running');
  assert.is(rows['dev-alice'].endpoint?.pod, 'dev-alice-0');
  assert.equal(status.warnings, []);
  const table = await world.sandbox.ok(['status']);
  assert.match(table.stdout, /Formation: k8s/);
  assert.match(table.stdout, /pod\/dev-alice-0/);

  // The member's output comes from its container; there is no previous one before a restart.
  const logs = await world.bm(['logs', 'dev-alice']);
  outputs.push(logs);
  assert.is(logs.code, 0, logs.stderr);
  const previous = await world.bm(['logs', 'dev-alice', '--previous']);
  assert.is(previous.code, 1);
  assert.match(previous.stderr, /Could not read the log of pod dev-alice-0 .*previous terminated container "ralph" in pod "dev-alice-0" not found.*There is a previous log only after the container restarted/);

  // The API server hangs: status answers within 10 s from the cached topology.
  await world.cluster.makeUnreachable();
  try {
    const began = Date.now();
    const hung = await world.bm(['status', '--json']);
    const took = Date.now() - began;
    assert.is(hung.code, 0, hung.stderr);
    assert.ok(took < 10_000, `status took ${took} ms`);
    assert.match(hung.stderr, /Warning: Could not reach k8s target\. Showing cached topology\./);
    const cached = JSON.parse(hung.stdout) as StatusJson;
    assert.is(cached.members.find((m) => m.name === 'dev-alice')?.status, 'unknown');
    assert.ok(existsSync(path.join(world.teamDir, 'topology.json')), 'the cached topology is kept');
  } finally {
    await world.cluster.restore();
  }

  // Stop deletes the pods and ConfigMaps, keeps namespace and Secret, removes the topology.
  const stop = await world.bm(['stop']);
  outputs.push(stop);
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /Stopped 1 member\(s\), 0 error\(s\)/, `${stop.stdout}\n${stop.stderr}`);
  assert.is((await world.pods()).size, 0, 'no member pods left');
  assert.equal(await configMaps(world), []);
  assert.is((await world.kubectl(['get', 'secret', 'botminter-credentials', '-n', world.namespace, '-o', 'name'])).code, 0, 'the Secret is kept');
  assert.not.ok(existsSync(path.join(world.teamDir, 'topology.json')), 'topology removed');
  const stopped = JSON.parse((await world.sandbox.ok(['status', '--json'])).stdout) as StatusJson;
  assert.ok(stopped.members.every((m) => m.status === 'stopped'), 'every member is stopped');

  assertTokenNeverLeaked(world, outputs);
}

/** A second token, for rotation. */
export const NEW_TOKEN = 'ghp_k8sFormationRotated9876543210zyxwvZYXW';

/** The data of the team's Secret, decoded. */
async function secretData(world: K8sWorld): Promise<Record<string, string> | undefined> {
  const got = await world.kubectl(['get', 'secret', 'botminter-credentials', '-n', world.namespace, '-o', 'json', '--ignore-not-found']);
  assert.is(got.code, 0, got.stderr);
  if (!got.stdout.trim()) return undefined;
  const data = (JSON.parse(got.stdout) as { data: Record<string, string> }).data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** `bm status --json`'s row of `member`. */
async function statusOf(world: K8sWorld, member: string, env?: NodeJS.ProcessEnv): Promise<{ status: string; detail?: string }> {
  const got = await world.bm(['status', '--json'], env);
  assert.is(got.code, 0, got.stderr);
  const rows = (JSON.parse(got.stdout) as { members: { name: string; status: string; detail?: string }[] }).members;
  return rows.find((m) => m.name === member) ?? { status: 'missing' };
}

/**
 * The cluster is compared, not assumed: a new token reaches the Secret and rolls the members; a
 * deleted Secret and ConfigMap, a pod given another image by hand and a StatefulSet changed by
 * hand are each reported by status as drift and put back by the next start.
 */
export async function driftScenario(world: K8sWorld): Promise<void> {
  const outputs: RunResult[] = [];
  const start = async (env?: NodeJS.ProcessEnv) => {
    const r = await world.bm(['start', '--formation', 'k8s'], env);
    outputs.push(r);
    assert.is(r.code, 0, r.stderr);
    return r;
  };
  await start();
  const before = await world.pods();
  // A new GitHub token in the operator config: the Secret gets it and every member rolls onto it.
  const config = path.join(world.sandbox.bmHome, 'config.yml');
  const text = readFileSync(config, 'utf8');
  writeFileSync(config, text.includes(TOKEN) ? text.replaceAll(TOKEN, NEW_TOKEN) : text.replace(/^(\s+)credentials:\n/m, `$1credentials:\n$1  gh_token: ${NEW_TOKEN}\n`));
  const rotation = await start({ GH_TOKEN: NEW_TOKEN });
  assert.match(rotation.stderr, /Deploying: the credentials changed/);
  assert.match(rotation.stderr, /dev-alice: recreated \(credentials changed\)/);
  assert.equal(await secretData(world), { 'gh-token': NEW_TOKEN });
  const rolled = await world.pods();
  for (const [member, pod] of rolled) {
    assert.ok(pod.ready, `${member} is Ready`);
    assert.is.not(pod.uid, before.get(member)?.uid, `${member} was rolled onto the new token`);
  }
  assert.match((await start({ GH_TOKEN: NEW_TOKEN })).stdout, /is up to date/);

  // A Claude credential in the operator's environment reaches the members by secretKeyRef.
  const rotated = { GH_TOKEN: NEW_TOKEN, ANTHROPIC_API_KEY: 'sk-ant-k8sFormationTestKey0123456789' };
  await start(rotated);
  assert.equal(await secretData(world), { 'gh-token': NEW_TOKEN, 'anthropic-api-key': rotated.ANTHROPIC_API_KEY });
  const env = await world.kubectl(['get', 'statefulset', 'dev-alice', '-n', world.namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].env}']);
  assert.ok((JSON.parse(env.stdout) as { name: string; valueFrom?: unknown }[]).some((e) => e.name === 'ANTHROPIC_API_KEY' && JSON.stringify(e.valueFrom) === '{"secretKeyRef":{"key":"anthropic-api-key","name":"botminter-credentials"}}'));
  assert.match((await start(rotated)).stdout, /is up to date/);

  // The Secret and a ConfigMap deleted on the cluster: status says so, start puts them back.
  for (const object of ['secret/botminter-credentials', 'configmap/dev-alice-config']) {
    const deleted = await world.kubectl(['delete', object, '-n', world.namespace]);
    assert.is(deleted.code, 0, deleted.stderr);
  }
  assert.match((await statusOf(world, 'dev-alice', rotated)).detail ?? '', /drifted: Secret botminter-credentials is missing/);
  const table = await world.bm(['status'], rotated);
  assert.match(table.stdout, /dev-alice: drifted: Secret botminter-credentials is missing \(`bm start --formation k8s` restores it\)/);
  const restored = await start(rotated);
  assert.match(restored.stderr, /secret\/botminter-credentials: restored/);
  assert.match(restored.stderr, /configmap\/dev-alice-config: restored/);
  assert.equal(await secretData(world), { 'gh-token': NEW_TOKEN, 'anthropic-api-key': rotated.ANTHROPIC_API_KEY });
  assert.is((await world.kubectl(['get', 'configmap', 'dev-alice-config', '-n', world.namespace, '-o', 'name'])).code, 0);
  assert.match((await start(rotated)).stdout, /is up to date/);

  // A pod given another image by hand, and a StatefulSet whose template was changed by hand.
  const image = world.cluster.image;
  const patched = await world.kubectl(['patch', 'pod', 'qe-quinn-0', '-n', world.namespace, '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/image","value":"bm-member:other"}]']);
  assert.is(patched.code, 0, patched.stderr);
  assert.match((await statusOf(world, 'qe-quinn', rotated)).detail ?? '', /drifted: image is bm-member:other/);
  const changed = await world.kubectl(['set', 'image', 'statefulset/dev-alice', '-n', world.namespace, 'ralph=bm-member:other']);
  assert.is(changed.code, 0, changed.stderr);
  const repaired = await start(rotated);
  assert.match(repaired.stderr, /qe-quinn: recreated \(pod changed on the cluster: image is bm-member:other/);
  assert.match(repaired.stderr, /dev-alice: recreated \(image is bm-member:other/);
  const images = await world.kubectl(['get', 'pods', '-n', world.namespace, '-l', TEAM_SELECTOR, '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
  assert.equal(images.stdout.split(' ').sort(), [image, image]);
  for (const [member, pod] of await world.pods()) assert.ok(pod.ready, `${member} is Ready again`);
  assert.match((await start(rotated)).stdout, /is up to date/);

  assertTokenNeverLeaked(world, outputs, [TOKEN, NEW_TOKEN, rotated.ANTHROPIC_API_KEY]);
}

/**
 * A member's pod deleted by hand is made again by its StatefulSet, Ready, and `bm logs` reads the
 * new one. Returns the pods as they were before (to compare later).
 */
export async function healScenario(world: K8sWorld): Promise<Map<string, { uid: string; ready: boolean; phase: string }>> {
  const started = await world.bm(['start', '--formation', 'k8s']);
  assert.is(started.code, 0, started.stderr);
  const before = await world.pods();
  const deleted = await world.kubectl(['delete', 'pod', '-n', world.namespace, 'dev-alice-0', '--wait=false']);
  assert.is(deleted.code, 0, deleted.stderr);
  await eventually('the StatefulSet makes a new Ready dev-alice-0', async () => {
    const pod = (await world.pods()).get('dev-alice');
    return Boolean(pod?.ready && pod.uid !== before.get('dev-alice')?.uid);
  }, 120_000);
  const status = JSON.parse((await world.sandbox.ok(['status', '--json'])).stdout) as StatusJson;
  assert.is(status.members.find((m) => m.name === 'dev-alice')?.status, 'running');
  const logs = await world.bm(['logs', 'dev-alice']);
  assert.is(logs.code, 0, logs.stderr);
  return before;
}

/** `bm stop --purge` stops the members and deletes the namespace, and with it the Secret. */
export async function purgeScenario(world: K8sWorld): Promise<void> {
  const purge = await world.bm(['stop', '--purge']);
  assert.is(purge.code, 0, purge.stderr);
  assert.match(purge.stderr, new RegExp(`namespace ${world.namespace}: deleted`));
  const ns = await world.kubectl(['get', 'namespace', world.namespace, '-o', 'jsonpath={.status.phase}', '--ignore-not-found']);
  assert.ok(ns.stdout === '' || ns.stdout === 'Terminating', `namespace gone or terminating, got ${ns.stdout}`);
  assert.not.ok(existsSync(path.join(world.teamDir, 'topology.json')), 'topology removed');
}
