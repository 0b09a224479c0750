/**
 * Which proxy bm's API client uses for a cluster: the cluster's proxy-url, else the proxy
 * variables by Go's rules (what kubectl does). The tunnel itself is tested end to end in
 * test/e2e/k8s-status.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { proxyFor } from '../../lib/kube-api.ts';

const PROXY = 'http://proxy.corp:3128';

/** The proxy `proxyFor` picks for `server` under `env`, as a string ('direct' for none). */
function pick(server: string, env: NodeJS.ProcessEnv, proxyUrl?: string): string {
  return proxyFor(new URL(server), proxyUrl, env)?.href ?? 'direct';
}

test('the scheme picks the variable: HTTPS_PROXY for https, HTTP_PROXY for http; upper case first; a bare host:port is http', () => {
  assert.is(pick('https://k8s.corp:6443', { HTTPS_PROXY: PROXY, HTTP_PROXY: 'http://other:1' }), `${PROXY}/`);
  assert.is(pick('http://k8s.corp:8080', { HTTPS_PROXY: PROXY, HTTP_PROXY: 'http://other:1' }), 'http://other:1/');
  assert.is(pick('https://k8s.corp:6443', { HTTPS_PROXY: PROXY, https_proxy: 'http://lower:1' }), `${PROXY}/`);
  assert.is(pick('https://k8s.corp:6443', { https_proxy: 'proxy.corp:3128' }), `${PROXY}/`);
  assert.is(pick('https://k8s.corp:6443', {}), 'direct');
  // Under CGI, HTTP_PROXY may come from a request's Proxy header: Go ignores it then.
  assert.is(pick('http://k8s.corp:8080', { HTTP_PROXY: PROXY, REQUEST_METHOD: 'GET' }), 'direct');
});

test('loopback servers are never proxied by the environment; a proxy-url in the kubeconfig always applies', () => {
  for (const server of ['https://localhost:6443', 'https://127.0.0.1:6443', 'https://127.3.2.1:1', 'https://[::1]:6443']) {
    assert.is(pick(server, { HTTPS_PROXY: PROXY }), 'direct', server);
  }
  assert.is(pick('https://127.0.0.1:6443', { NO_PROXY: '*' }, 'socks5://jump:1080'), 'socks5://jump:1080');
});

test('NO_PROXY: *, domains with and without a leading dot, ports, IPs and CIDRs', () => {
  const server = 'https://api.k8s.corp:6443';
  const via = (noProxy: string, to = server) => pick(to, { HTTPS_PROXY: PROXY, NO_PROXY: noProxy });
  assert.is(via('*'), 'direct');
  assert.is(via('k8s.corp'), 'direct', 'a domain covers its subdomains');
  assert.is(via('api.k8s.corp', 'https://api.k8s.corp:6443'), 'direct', 'and itself');
  assert.is(via('.k8s.corp'), 'direct');
  assert.is(via('.api.k8s.corp'), `${PROXY}/`, 'a leading dot: subdomains only');
  assert.is(via('*.k8s.corp'), 'direct');
  assert.is(via('ks8.corp, other.org'), `${PROXY}/`);
  assert.is(via('k8s.corp:6443'), 'direct');
  assert.is(via('k8s.corp:443'), `${PROXY}/`, 'another port');
  assert.is(via('K8S.Corp'), 'direct', 'case does not matter');
  assert.is(via('10.1.2.3', 'https://10.1.2.3:6443'), 'direct');
  assert.is(via('10.1.2.4', 'https://10.1.2.3:6443'), `${PROXY}/`);
  assert.is(via('10.0.0.0/8', 'https://10.1.2.3:6443'), 'direct');
  assert.is(via('10.0.0.0/16', 'https://10.1.2.3:6443'), `${PROXY}/`);
  assert.is(pick(server, { HTTPS_PROXY: PROXY, no_proxy: 'k8s.corp' }), 'direct', 'no_proxy in lower case too');
});

test.run();
