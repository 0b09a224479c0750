/**
 * How bm reads a cluster, through the CLI against kube-sim serving https and demanding
 * credentials (a bearer token or a client certificate, 401 otherwise): `bm status` and a repeated
 * `bm start --formation k8s` read the team's objects with bm's own API client (lib/kube-api.ts),
 * which must take every kubeconfig kubectl takes (client certificates, tokens and token files, a
 * CA or insecure-skip-tls-verify, exec credential plugins, `KUBECONFIG=a:b`, proxies). Plus how
 * an unreachable or hung API server, bad credentials and a missing context are reported.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeSim, writeKubeconfig, type KubeSim, type LoggedRequest } from '../support/kube-sim/index.ts';
import { kubectlTest } from '../support/kube-sim/kubectl.ts';
import { startConnectProxy, startSocksProxy } from '../support/connect-proxy.ts';
import { k8sWorld, simCluster, type K8sWorld } from '../support/k8s-scenarios.ts';
import { ROOT } from '../support/sandbox.ts';

/** The bearer token kube-sim accepts. */
const SIM_TOKEN = 'kube-sim-bearer-0123456789abcdef';

let sim: KubeSim | undefined;
let world: K8sWorld | undefined;
const withKubectl = await kubectlTest(test, 'k8s fast path');

interface StatusJson { members: { name: string; status: string; detail?: string }[]; warnings: string[] }

/** The pod list requests kube-sim received since the last `clearRequests()` (whatever their query's order). */
async function podReads(): Promise<LoggedRequest[]> {
  return sim ? sim.requests({ method: 'GET', path: /\/pods\?.*labelSelector=app.kubernetes.io%2Fmanaged-by%3Dbm/ }) : [];
}

/** Writes a kubeconfig for the simulator with these cluster and user fields; returns its path. */
function kubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = path.join(world?.sandbox.dir ?? '', name, 'kubeconfig');
  mkdirSync(path.dirname(file), { recursive: true });
  writeKubeconfig(file, sim?.apiUrl ?? '', sim?.context, 'default', { cluster, user });
  return file;
}

/** `bm status --json` with `KUBECONFIG=file`; asserts the exit code 0. */
async function status(env: NodeJS.ProcessEnv = {}): Promise<{ json: StatusJson; stderr: string; ms: number }> {
  const began = Date.now();
  const result = await world!.bm(['status', '--json'], env);
  assert.is(result.code, 0, result.stderr);
  assert.not.ok(`${result.stdout}${result.stderr}`.includes(SIM_TOKEN), 'the token is never printed');
  return { json: JSON.parse(result.stdout) as StatusJson, stderr: result.stderr, ms: Date.now() - began };
}

const IMPORT_LOG_HOOK = path.join(ROOT, 'test', 'support', 'kube-sim', 'import-log.mjs');
/** Deno ignores NODE_OPTIONS: what bm imported is only known under Node. */
const logsImports = typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';

/** Environment that makes bm log every module it imports to `file` (test/support/kube-sim/import-log.mjs). */
function importLog(file: string): NodeJS.ProcessEnv {
  return { BM_IMPORT_LOG: file, NODE_OPTIONS: `--import ${IMPORT_LOG_HOOK}` };
}

/** The heavy packages bm imported, per the log. */
function heavyImports(file: string): string[] {
  if (!existsSync(file)) return [];
  return [...new Set(readFileSync(file, 'utf8').split('\n').filter((url) => /node_modules\/(zx|@octokit\/[^/]+)\//.test(url)).map((url) => url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')))];
}

/** The simulator's CA certificate file. */
function caFile(): string {
  const file = sim?.tls?.caFile;
  if (!file) throw new Error('kube-sim serves no TLS');
  return file;
}

/** The CA as `certificate-authority-data`. */
function caData(): string {
  return readFileSync(caFile()).toString('base64');
}

test.before(async () => {
  if (withKubectl !== test) return;
  sim = await startKubeSim({ timeScale: 0.05, clientCert: true, token: SIM_TOKEN });
  world = await k8sWorld(simCluster(sim), ['dev:alice', 'qe:quinn']);
});

test.after(async () => {
  await world?.cleanup();
  await sim?.stop();
});

test.before.each(async () => {
  await sim?.clearFaults();
  await sim?.clearRequests();
});

/** The kubectl calls bm made since `from` (the sandbox's recording wrapper logs each). */
function callsSince(from: number): string[][] {
  return world!.kubectlCalls().slice(from);
}

withKubectl('a team never deployed to a cluster: status runs no kubectl at all', async () => {
  const before = world!.kubectlCalls().length;
  const { json } = await status();
  assert.equal(json.members.map((m) => [m.name, m.status]), [['dev-alice', 'stopped'], ['qe-quinn', 'stopped']]);
  assert.equal(callsSince(before), [], 'no kubectl call');
});

withKubectl('deploy over https with a client certificate, then status and a repeated start read the cluster without kubectl: one look of three lists', async () => {
  const w = world!;
  const first = await w.bm(['start', '--formation', 'k8s']);
  assert.is(first.code, 0, first.stderr);
  await sim!.clearRequests();

  const before = w.kubectlCalls().length;
  const imports = path.join(w.sandbox.dir, 'imports-status.log');
  const { json } = await status(importLog(imports));
  assert.equal(json.members.map((m) => [m.name, m.status]), [['dev-alice', 'running'], ['qe-quinn', 'running']]);
  if (logsImports) assert.ok(existsSync(imports), 'the import log was written');
  assert.equal(heavyImports(imports), [], 'status loaded no heavy package');
  assert.equal(json.warnings, []);
  assert.equal(callsSince(before), [], 'no kubectl process');
  const reads = await podReads();
  assert.is(reads.length, 1, 'one pod list');
  assert.match(reads[0].userAgent ?? '', /^bm/);
  assert.is(reads[0].auth, 'client-cert');
  // One look across the namespaces serves the members' health and the look for pods no record
  // knows (lib/lifecycle/clusters.ts): the pods in full; of the ConfigMaps and Secrets only the
  // metadata, so a Secret's values never reach bm.
  const lists = (await sim!.requests({ method: 'GET' })).filter((r) => !r.path.startsWith('/api/v1/namespaces/'));
  assert.equal(lists.map((r) => r.path.replace(/\?.*/, '')).sort(), ['configmaps', 'pods', 'secrets'].map((r) => `/api/v1/${r}`));
  for (const list of lists) {
    assert.match(list.path, /\?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dbm$/);
    if (!list.path.startsWith('/api/v1/pods')) assert.match(list.accept ?? '', /^application\/json;as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1$/, list.path);
  }

  await sim!.clearRequests();
  const again = await w.bm(['start', '--formation', 'k8s'], importLog(path.join(w.sandbox.dir, 'imports-start.log')));
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date: 2 member\(s\) running/);
  assert.equal(heavyImports(path.join(w.sandbox.dir, 'imports-start.log')), [], 'the repeated start loaded no heavy package');
  assert.equal(callsSince(before), [], 'and no kubectl process for the repeated start');
  assert.is((await podReads()).length, 1, 'one pod list');
});

withKubectl('through a proxy: the cluster\'s proxy-url always (http or socks5); HTTPS_PROXY except for loopback and what NO_PROXY names', async () => {
  const proxy = await startConnectProxy();
  const socks = await startSocksProxy();
  try {
    const viaSocks = kubeconfig('socks', { 'certificate-authority-data': caData(), 'proxy-url': socks.url }, { token: SIM_TOKEN });
    assert.ok((await status({ KUBECONFIG: viaSocks })).json.members.every((m) => m.status === 'running'));
    assert.ok(socks.tunnels.length > 0 && socks.tunnels.every((t) => t === `127.0.0.1:${new URL(sim!.apiUrl).port}`), JSON.stringify(socks.tunnels));

    const port = new URL(sim!.apiUrl).port;
    const viaUrl = kubeconfig('proxy-url', { 'certificate-authority-data': caData(), 'proxy-url': proxy.url }, { token: SIM_TOKEN });
    assert.ok((await status({ KUBECONFIG: viaUrl })).json.members.every((m) => m.status === 'running'));
    assert.ok(proxy.tunnels.length > 0 && proxy.tunnels.every((t) => t === `127.0.0.1:${port}`), JSON.stringify(proxy.tunnels));

    // Go's rule, as kubectl's: a loopback server is never reached through the environment's proxy.
    proxy.tunnels.length = 0;
    const direct = kubeconfig('direct', { 'certificate-authority-data': caData() }, { token: SIM_TOKEN });
    assert.ok((await status({ KUBECONFIG: direct, HTTPS_PROXY: proxy.url })).json.members.every((m) => m.status === 'running'));
    assert.equal(proxy.tunnels, []);

    // A server by a name only the proxy can resolve (its certificate is for localhost: tls-server-name).
    const named = path.join(world!.sandbox.dir, 'proxied', 'kubeconfig');
    mkdirSync(path.dirname(named), { recursive: true });
    writeKubeconfig(named, `https://kube-sim.test:${port}`, sim!.context, 'default', { cluster: { 'certificate-authority-data': caData(), 'tls-server-name': 'localhost' }, user: { token: SIM_TOKEN } });
    const proxied = await status({ KUBECONFIG: named, HTTPS_PROXY: proxy.url, NO_PROXY: 'example.com,10.0.0.0/8' });
    assert.ok(proxied.json.members.every((m) => m.status === 'running'), JSON.stringify(proxied.json));
    assert.ok(proxy.tunnels.length > 0 && proxy.tunnels.every((t) => t === `kube-sim.test:${port}`), JSON.stringify(proxy.tunnels));
    proxy.tunnels.length = 0;
    const bypassed = await status({ KUBECONFIG: named, https_proxy: proxy.url, no_proxy: '.test' });
    assert.equal(proxy.tunnels, [], 'NO_PROXY named the domain');
    assert.match(bypassed.json.members[0].detail ?? '', /no such host: kube-sim\.test/);
  } finally {
    await proxy.stop();
    await socks.stop();
  }
});

withKubectl('bm console reads the cluster anew for each view it builds, not once per process', async () => {
  const w = world!;
  // In this process, as the console server runs it, against the sandbox.
  const keys = ['BM_HOME', 'HOME', 'XDG_CACHE_HOME', 'KUBECONFIG', 'KUBECACHEDIR'] as const;
  const saved = keys.map((k) => process.env[k]);
  for (const k of keys) process.env[k] = w.sandbox.env[k];
  try {
    const { buildView, LogTracker } = await import('../../lib/console/view.ts');
    const { loadTeamFromFlag } = await import('../../lib/team.ts');
    const team = loadTeamFromFlag(undefined);
    for (const n of [1, 2]) {
      const view = await buildView(team, new LogTracker(), true, null);
      assert.equal(view.status.members.map((m) => m.status), ['running', 'running']);
      assert.is((await podReads()).length, n, `view ${n} read the pods itself`);
    }
  } finally {
    keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
  }
});

withKubectl('a token user: the token authenticates, from the kubeconfig or a tokenFile next to it; a wrong one is a 401 with kubectl\'s reason', async () => {
  const ca = caData();
  const { json } = await status({ KUBECONFIG: kubeconfig('token', { 'certificate-authority-data': ca }, { token: SIM_TOKEN }) });
  assert.ok(json.members.every((m) => m.status === 'running'), JSON.stringify(json));
  assert.equal((await podReads()).map((r) => [r.auth, r.status]), [['bearer', 200]]);

  // Files named by the kubeconfig are relative to its directory.
  const file = kubeconfig('token-file', { 'certificate-authority': 'ca.crt' }, { tokenFile: 'token' });
  copyFileSync(caFile(), path.join(path.dirname(file), 'ca.crt'));
  writeFileSync(path.join(path.dirname(file), 'token'), `${SIM_TOKEN}\n`, { mode: 0o600 });
  assert.ok((await status({ KUBECONFIG: file })).json.members.every((m) => m.status === 'running'));

  const wrong = await status({ KUBECONFIG: kubeconfig('wrong', { 'certificate-authority-data': ca }, { token: 'not-the-token' }) });
  assert.match(wrong.stderr, /Warning: Could not reach k8s target\. Showing cached topology\./);
  for (const m of wrong.json.members) {
    assert.is(m.status, 'unknown');
    assert.match(m.detail ?? '', /Unauthorized/);
    assert.not.match(m.detail ?? '', /not-the-token/);
  }
});

withKubectl('TLS: insecure-skip-tls-verify is honoured; without it an unknown CA is a certificate error', async () => {
  const insecure = await status({ KUBECONFIG: kubeconfig('insecure', { 'insecure-skip-tls-verify': true }, { token: SIM_TOKEN }) });
  assert.ok(insecure.json.members.every((m) => m.status === 'running'));
  await sim!.clearRequests();
  const untrusted = await status({ KUBECONFIG: kubeconfig('untrusted', {}, { token: SIM_TOKEN }) });
  assert.match(untrusted.stderr, /Could not reach k8s target/);
  assert.match(untrusted.json.members[0].detail ?? '', /certificate/i);
  assert.equal(await podReads(), [], 'the untrusted server never got a request');
});

withKubectl('an exec credential plugin and a kubeconfig merged from two files (KUBECONFIG=a:b) work as they do for kubectl', async () => {
  const plugin = path.join(world!.sandbox.dir, 'credential-plugin');
  const credential = { apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: SIM_TOKEN } };
  writeFileSync(plugin, `#!/bin/sh\nprintf '%s\\n' '${JSON.stringify(credential)}'\n`);
  chmodSync(plugin, 0o700);
  const file = kubeconfig('exec', { 'certificate-authority-data': caData() }, {
    exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin, interactiveMode: 'Never' },
  });
  const { json } = await status({ KUBECONFIG: file });
  assert.ok(json.members.every((m) => m.status === 'running'), JSON.stringify(json));
  assert.equal((await podReads()).map((r) => r.auth), ['bearer'], 'with the plugin\'s token');
  const again = await world!.bm(['start', '--formation', 'k8s'], { KUBECONFIG: file });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /is up to date/);

  // The context and cluster in one file, the user's credentials in another: kubectl merges them.
  await sim!.clearRequests();
  const clusters = kubeconfig('merged-a', { 'certificate-authority-data': caData() }, {});
  const users = path.join(path.dirname(clusters), 'users');
  writeFileSync(users, `apiVersion: v1\nkind: Config\nusers:\n- name: ${sim!.context}\n  user:\n    token: ${SIM_TOKEN}\n`);
  writeFileSync(clusters, readFileSync(clusters, 'utf8').replace(/^users:[\s\S]*$/m, ''));
  const merged = await status({ KUBECONFIG: `${clusters}${path.delimiter}${users}` });
  assert.ok(merged.json.members.every((m) => m.status === 'running'), JSON.stringify(merged.json));
  assert.equal((await podReads()).map((r) => [r.auth, r.status]), [['bearer', 200]]);
});

withKubectl('status says why a kubeconfig cannot be used: no such context, a broken file, a credential plugin that fails or is missing', async () => {
  const dir = path.join(world!.sandbox.dir, 'unusable');
  mkdirSync(dir, { recursive: true });
  const detail = async (file: string) => {
    const { json, stderr } = await status({ KUBECONFIG: file });
    assert.match(stderr, /Could not reach k8s target/);
    assert.is(json.members[0].status, 'unknown');
    return json.members[0].detail ?? '';
  };
  const other = path.join(dir, 'other-context');
  writeKubeconfig(other, sim!.apiUrl, 'kind-elsewhere', 'default', { cluster: { 'certificate-authority-data': caData() }, user: { token: SIM_TOKEN } });
  assert.match(await detail(other), /There is no context 'kind-botminter' in the kubeconfig \(.*other-context\); `kubectl config get-contexts`/);
  const broken = path.join(dir, 'broken');
  writeFileSync(broken, 'apiVersion: v1\nclusters: [this is: not, valid\n');
  assert.match(await detail(broken), /The kubeconfig \(.*broken\) cannot be read/);
  const failing = path.join(dir, 'failing-plugin');
  writeFileSync(failing, '#!/bin/sh\necho "login expired" >&2\nexit 3\n');
  chmodSync(failing, 0o700);
  const exec = (command: string) => kubeconfig(`exec-${path.basename(command)}`, { 'certificate-authority-data': caData() }, {
    exec: { apiVersion: 'client.authentication.k8s.io/v1', command, interactiveMode: 'Never', installHint: 'Install it with: apt install the-plugin' },
  });
  assert.match(await detail(exec(failing)), /The credential plugin .*failing-plugin failed \(exit code 3\)/);
  assert.match(await detail(exec('no-such-credential-plugin')), /The credential plugin no-such-credential-plugin was not found \(Install it with: apt install the-plugin\)/);
  assert.equal(await podReads(), [], 'none of them sent a request');
});

withKubectl('unreachable: refused at once, hung until BM_K8S_TIMEOUT_MS; cached topology and the reason either way', async () => {
  await sim!.fault({ kind: 'refuse' });
  const refused = await status();
  assert.match(refused.stderr, /Warning: Could not reach k8s target\. Showing cached topology\./);
  assert.is(refused.json.members[0].status, 'unknown');
  assert.match(refused.json.members[0].detail ?? '', /refused/);
  await sim!.clearFaults();

  await sim!.fault({ kind: 'hang' });
  const hung = await status({ BM_K8S_TIMEOUT_MS: '1500' });
  assert.ok(hung.ms >= 1000 && hung.ms < 5000, `status took ${hung.ms} ms`);
  assert.match(hung.stderr, /Could not reach k8s target/);
  assert.match(hung.json.members[0].detail ?? '', /Client\.Timeout|context deadline exceeded|did not answer within 1500 ms/);
});

withKubectl('bm start fails within its deadline, with a message and fix of its own for 401, 403, a missing context, a bad kubeconfig and a hung server', async () => {
  const w = world!;
  const ca = caData();
  const start = async (env: NodeJS.ProcessEnv) => {
    const began = Date.now();
    const result = await w.bm(['start', '--formation', 'k8s', '--yes'], { BM_K8S_TIMEOUT_MS: '3000', ...env });
    assert.is(result.code, 1, result.stderr);
    assert.not.match(result.stderr, /Cannot reach the Kubernetes cluster/, `not the generic message: ${result.stderr}`);
    return { stderr: result.stderr, ms: Date.now() - began };
  };
  const unauthorized = await start({ KUBECONFIG: kubeconfig('bad-token', { 'certificate-authority-data': ca }, { token: 'not-the-token' }) });
  assert.match(unauthorized.stderr, /Error: The cluster of context 'kind-botminter' rejected the credentials \(HTTP 401 Unauthorized\)\. .*refresh it/);

  const good = kubeconfig('good', { 'certificate-authority-data': ca }, { token: SIM_TOKEN });
  await sim!.fault({ kind: 'error', status: 403, reason: 'Forbidden', message: 'namespaces "botminter-alpha" is forbidden: User "dev" cannot get resource "namespaces" in API group "" in the namespace "botminter-alpha"', path: '/api/v1/(namespaces|pods|configmaps|secrets).*' });
  const forbidden = await start({ KUBECONFIG: good });
  assert.match(forbidden.stderr, /Error: The cluster of context 'kind-botminter' refused the request \(HTTP 403 Forbidden: .*cannot get resource "namespaces".*RBAC/);
  await sim!.clearFaults();

  const other = path.join(w.sandbox.dir, 'other-context', 'kubeconfig');
  mkdirSync(path.dirname(other), { recursive: true });
  writeKubeconfig(other, sim!.apiUrl, 'kind-elsewhere', 'default', { cluster: { 'certificate-authority-data': ca }, user: { token: SIM_TOKEN } });
  const missing = await start({ KUBECONFIG: other });
  assert.match(missing.stderr, /Error: There is no context 'kind-botminter' in the kubeconfig \(.*other-context\/kubeconfig\)\. .*kubectl config get-contexts/);

  const broken = path.join(w.sandbox.dir, 'broken', 'kubeconfig');
  mkdirSync(path.dirname(broken), { recursive: true });
  writeFileSync(broken, 'apiVersion: v1\nclusters: [this is: not, valid\n');
  const unreadable = await start({ KUBECONFIG: broken });
  assert.match(unreadable.stderr, /Error: The kubeconfig \(.*broken\/kubeconfig\) cannot be read/);

  await sim!.fault({ kind: 'hang' });
  const hung = await start({ KUBECONFIG: good });
  assert.match(hung.stderr, /Error: The cluster of context 'kind-botminter' does not answer/);
  assert.ok(hung.ms < 15_000, `bm start gave up after ${hung.ms} ms`);
});

test.run();
