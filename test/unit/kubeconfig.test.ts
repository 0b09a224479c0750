/**
 * lib/endpoints/kubeconfig.ts: which kubeconfigs bm reads itself (the fast path of `bm status`
 * and of a repeated `bm start --formation k8s`) and which it leaves to client-node, plus how its
 * one GET reports what went wrong. The same path against kube-sim, through the CLI, is in
 * test/e2e/k8s-status.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getJson, KubeApiError, resolveRoute, type ApiTarget } from '../../lib/endpoints/kubeconfig.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (text: string) => Buffer.from(text).toString('base64');

let dir: string;

test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-kubeconfig-'));
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a kubeconfig with context `c` → cluster `k` + user `u` and returns the environment pointing at it. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = {}, file = path.join(dir, 'config')): NodeJS.ProcessEnv {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u', namespace: 'default' } }],
    users: [{ name: 'u', user }],
  };
  // JSON is YAML: kubectl reads JSON kubeconfigs too.
  writeFileSync(file, JSON.stringify(config));
  return { KUBECONFIG: file, HOME: dir };
}

function direct(env: NodeJS.ProcessEnv, context = 'c'): ApiTarget {
  const route = resolveRoute(context, env);
  assert.is(route.kind, 'direct', route.kind === 'fallback' ? `unexpected fallback: ${route.reason}` : '');
  return (route as Extract<typeof route, { kind: 'direct' }>).target;
}

function fallbackReason(env: NodeJS.ProcessEnv): string {
  const route = resolveRoute('c', env);
  assert.is(route.kind, 'fallback', 'expected a fallback to client-node');
  return route.kind === 'fallback' ? route.reason : '';
}

test('the kubeconfig never goes through the parse cache: no cache entry holds its credentials', () => {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'bm-kubeconfig-cache-'));
  const previous = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  try {
    const env = kubeconfig({ 'certificate-authority-data': b64(PEM) }, { token: 'secret-tok-456' });
    assert.is(direct(env).token, 'secret-tok-456');
    assert.equal(readdirSync(cache), [], 'nothing cached');
    writeFileSync(env.KUBECONFIG as string, readFileSync(env.KUBECONFIG as string, 'utf8').replace('6443', '7443'));
    assert.is(direct(env).server.port, '7443', 'an edited kubeconfig is read again');
  } finally {
    if (previous === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = previous;
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a token user on https, with the CA inline: the direct path, token and CA resolved', () => {
  const target = direct(kubeconfig({ 'certificate-authority-data': b64(PEM) }, { token: 'tok-123' }));
  assert.is(target.server.href, 'https://127.0.0.1:6443/');
  assert.is(target.token, 'tok-123');
  assert.is(target.ca?.toString(), PEM);
  assert.is(target.insecure, false);
});

test('files named by the kubeconfig are relative to its directory; tokenFile wins over token while readable', () => {
  mkdirSync(path.join(dir, 'kube', 'pki'), { recursive: true });
  writeFileSync(path.join(dir, 'kube', 'pki', 'ca.crt'), PEM);
  writeFileSync(path.join(dir, 'kube', 'pki', 'client.crt'), 'CERT');
  writeFileSync(path.join(dir, 'kube', 'pki', 'client.key'), 'KEY');
  writeFileSync(path.join(dir, 'kube', 'token'), 'from-file\n');
  const user = { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key', tokenFile: 'token', token: 'inline' };
  const target = direct(kubeconfig({ 'certificate-authority': 'pki/ca.crt' }, user, path.join(dir, 'kube', 'config')));
  assert.is(target.ca?.toString(), PEM);
  assert.is(target.cert?.toString(), 'CERT');
  assert.is(target.key?.toString(), 'KEY');
  assert.is(target.token, 'from-file', 'the file, trimmed');
  rmSync(path.join(dir, 'kube', 'token'));
  assert.is(direct(kubeconfig({}, { tokenFile: 'token', token: 'inline' }, path.join(dir, 'kube', 'config'))).token, 'inline', 'kubectl keeps the inline token when the file is gone');
});

test('over plain http no credential is read or sent, as kubectl does', () => {
  const target = direct(kubeconfig({ server: 'http://127.0.0.1:8080', 'insecure-skip-tls-verify': true }, { token: 'never-sent', exec: { command: 'x' } }));
  assert.is(target.token, undefined);
  assert.is(target.cert, undefined);
});

test('KUBECONFIG unset: ~/.kube/config; a path prefix on the server is kept', () => {
  mkdirSync(path.join(dir, '.kube'));
  const env = kubeconfig({ server: 'https://rancher.example/k8s/clusters/c-1' }, {}, path.join(dir, '.kube', 'config'));
  const target = direct({ HOME: env.HOME });
  assert.is(target.server.pathname, '/k8s/clusters/c-1');
});

test('anything bm cannot honour exactly as kubectl would falls back to client-node', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    ['exec plugin', {}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'cred' } }, /exec/],
    ['auth-provider', {}, { 'auth-provider': { name: 'oidc' } }, /auth-provider/],
    ['basic auth', {}, { username: 'a', password: 'b' }, /username, password/],
    ['impersonation', {}, { as: 'someone' }, /\bas\b/],
    ['proxy-url', { 'proxy-url': 'http://proxy:3128' }, {}, /proxy-url/],
    ['tls-server-name', { 'tls-server-name': 'api.internal' }, {}, /tls-server-name/],
    ['CA file and data', { 'certificate-authority': 'ca.crt', 'certificate-authority-data': b64(PEM) }, {}, /both/],
    ['CA with insecure', { 'certificate-authority-data': b64(PEM), 'insecure-skip-tls-verify': true }, {}, /insecure/],
    ['a certificate without its key', {}, { 'client-certificate-data': b64('C') }, /without the other/],
    ['a server without a scheme', { server: '127.0.0.1:6443' }, {}, /neither http nor https|no server/],
  ];
  for (const [what, cluster, user, reason] of cases) {
    assert.match(fallbackReason(kubeconfig(cluster, user)), reason, what);
  }
  const env = kubeconfig({});
  assert.match(fallbackReason({ ...env, KUBECONFIG: `${env.KUBECONFIG}${path.delimiter}${path.join(dir, 'other')}` }), /several files/);
  assert.match(fallbackReason({ ...kubeconfig({ server: 'https://10.0.0.1:6443' }), HTTPS_PROXY: 'http://proxy:3128' }), /proxy/, 'a proxy is client-node\'s business');
  assert.is(resolveRoute('c', { ...kubeconfig({ server: 'https://127.0.0.2:6443' }), HTTPS_PROXY: 'http://proxy:3128' }).kind, 'direct', 'loopback is never proxied');
  assert.match(fallbackReason({ KUBECONFIG: path.join(dir, 'missing') }), /does not exist/);
  writeFileSync(path.join(dir, 'broken'), 'clusters: [\n');
  assert.match(fallbackReason({ KUBECONFIG: path.join(dir, 'broken') }), /does not parse/);
});

test('a context that is not there, or a file it names that cannot be read, is an error naming the file only', () => {
  const env = kubeconfig({ 'certificate-authority': 'nope.crt' });
  assert.throws(() => resolveRoute('other', env), /context 'other' is not in the kubeconfig/);
  assert.throws(() => resolveRoute('c', env), (e: Error) => /cannot read certificate-authority .*nope\.crt \(ENOENT\)/.test(e.message));
});

/** A local HTTP server answering with `handler`; resolves to its URL. */
async function server(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    }),
  };
}

test('getJson: JSON on 2xx; a Status message and the code on an error; the token only in the header', async () => {
  const seen: (string | undefined)[] = [];
  const api = await server((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === '/prefix/api/v1/namespaces/ns/pods?labelSelector=app%3Dbotminter') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"PodList","items":[]}');
    } else {
      res.writeHead(403, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'pods is forbidden: User "x" cannot list resource "pods"', reason: 'Forbidden', code: 403 }));
    }
  });
  try {
    const target: ApiTarget = { server: new URL(`${api.url}/prefix/`), insecure: false, token: 'sekrit' };
    assert.equal(await getJson(target, '/api/v1/namespaces/ns/pods?labelSelector=app%3Dbotminter', 2000), { kind: 'PodList', items: [] });
    const error = await getJson(target, '/api/v1/namespaces/other/pods', 2000).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof KubeApiError);
    assert.is((error as KubeApiError).code, 403);
    assert.is((error as Error).message, 'pods is forbidden: User "x" cannot list resource "pods" (HTTP 403)');
    assert.equal(seen, ['Bearer sekrit', 'Bearer sekrit']);
  } finally {
    await api.close();
  }
});

test('getJson: a server that never answers times out; a closed port is refused at once', async () => {
  const hung = await server(() => undefined);
  try {
    const began = Date.now();
    const error = await getJson({ server: new URL(hung.url), insecure: false }, '/api/v1/pods', 300).then(() => undefined, (e: unknown) => e as Error);
    assert.match(error?.message ?? '', 'no answer from the API server within 300 ms');
    assert.ok(Date.now() - began < 2000);
  } finally {
    await hung.close();
  }
  const closed = await server(() => undefined);
  await closed.close();
  const refused = await getJson({ server: new URL(closed.url), insecure: false }, '/api/v1/pods', 2000).then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException);
  assert.is(refused?.code, 'ECONNREFUSED');
});

test.run();
