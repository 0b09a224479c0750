/**
 * bm's client for the Kubernetes API: the one way bm itself reads a cluster, deletes from it and
 * follows a pod's logs (the formation's hat scripts deploy with kubectl). A context's server,
 * TLS, credentials and proxy come from the kubeconfig as kubectl reads it (lib/kubeconfig.ts).
 * Requests go through the cluster's `proxy-url`, or else the proxy variables by Go's rules, as
 * kubectl's: HTTPS_PROXY/https_proxy for an https server, HTTP_PROXY/http_proxy for http, never
 * for localhost or a loopback address, and not for hosts NO_PROXY/no_proxy names (`*`, a
 * domain and its subdomains, `.domain` for subdomains only, an IP or CIDR, each with an optional
 * port). http, https and socks5 proxies are supported.
 *
 * Every request has a total deadline (connecting, a credential plugin and the answer included):
 * a paused cluster accepts connections and never answers. docs/formations.md says why bm talks
 * to the API itself rather than through kubectl.
 */
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { execCredential, kubeTarget, type KubeTarget } from './kubeconfig.ts';

/** What a failed request means: the HTTP status when the server answered. */
export class KubeApiError extends Error {
  constructor(message: string, readonly status?: number, readonly reason?: string) {
    super(message);
  }
}

/** A context's target, its credentials obtained, and its connection pool. */
interface Connection {
  target: KubeTarget;
  agent: Agent;
}

const connections = new Map<string, Promise<Connection>>();

/** The longest answer kept (a log that is followed is passed on, not kept): bm's objects take far less. */
const MAX_ANSWER = 64 * 2 ** 20;

/** Options of one request. */
export interface KubeRequestOptions {
  method?: 'GET' | 'DELETE';
  /** The Accept header; default JSON. */
  accept?: string;
  /** Total deadline in ms; 0: none (a followed log, ended by `signal`). */
  deadlineMs: number;
  signal?: AbortSignal;
  /** Receives the body as it comes instead of collecting it (only for a 2xx answer). */
  onChunk?: (chunk: string) => void;
}

/** An answer: its status and (unless streamed) its body. */
export interface KubeResponse {
  status: number;
  body: string;
}

/**
 * Sends `GET`/`DELETE` `apiPath` (with its query) to the API server of `context`. Resolves with
 * any 2xx or 404 answer; rejects with a KubeApiError saying why otherwise.
 */
export async function kubeRequest(context: string, apiPath: string, options: KubeRequestOptions): Promise<KubeResponse> {
  const began = Date.now();
  const ms = options.deadlineMs;
  const deadline = (what: string) => new KubeApiError(`the API server of context ${context} did not answer within ${ms} ms (${what})`);
  let connection = connections.get(context);
  if (!connection) {
    connection = connect(context, ms);
    connections.set(context, connection);
    connection.catch(() => connections.delete(context));
  }
  const { target, agent } = await connection;
  const left = ms > 0 ? ms - (Date.now() - began) : 0;
  if (ms > 0 && left <= 0) throw deadline('obtaining credentials');
  const url = new URL(target.server + apiPath);
  const http = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  // The TLS settings are the agent's (agentFor), shared by every request to the server.
  const request: RequestOptions = {
    method: options.method ?? 'GET',
    ...hostAndPort(url),
    path: `${url.pathname}${url.search}`,
    agent,
    headers: { ...target.headers, accept: options.accept ?? 'application/json', 'user-agent': 'bm' },
  };
  return new Promise<KubeResponse>((resolve, reject) => {
    const req = http.request(request, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const streamed = options.onChunk !== undefined && status >= 200 && status < 300;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (streamed) return options.onChunk!(chunk);
        body += chunk;
        if (body.length > MAX_ANSWER) fail(new KubeApiError(`the API server of context ${context} sent an answer of over ${MAX_ANSWER / 2 ** 20} MiB`));
      });
      res.on('error', (error) => fail(networkError(context, target, error)));
      res.on('end', () => {
        done();
        if ((status >= 200 && status < 300) || status === 404) return resolve({ status, body });
        // Rejected credentials may have been renewed in the kubeconfig since: read it again next time.
        if (status === 401) connections.delete(context);
        reject(statusError(status, body));
      });
    });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
    };
    const fail = (error: Error) => {
      done();
      req.destroy();
      reject(error);
    };
    const timer = left > 0 ? setTimeout(() => fail(deadline('timed out')), left) : undefined;
    const abort = () => fail(new KubeApiError('aborted'));
    options.signal?.addEventListener('abort', abort, { once: true });
    req.on('error', (error) => fail(networkError(context, target, error)));
    if (options.signal?.aborted) abort();
    else req.end();
  });
}

/** `kubeRequest` for a JSON answer; null for a 404. */
export async function kubeJson<T>(context: string, apiPath: string, options: KubeRequestOptions): Promise<T | null> {
  const { status, body } = await kubeRequest(context, apiPath, options);
  return status === 404 ? null : JSON.parse(body) as T;
}

async function connect(context: string, deadlineMs: number): Promise<Connection> {
  const { target, exec } = kubeTarget(context);
  if (exec) await execCredential(exec, target, deadlineMs > 0 ? deadlineMs : 60_000);
  return { target, agent: agentFor(target) };
}

/** A keep-alive pool for the target's server: through its proxy, if it has one, with its TLS settings. */
function agentFor(target: KubeTarget): Agent {
  const server = new URL(target.server);
  const https = server.protocol === 'https:';
  const tlsOptions = { ca: target.ca, cert: target.cert, key: target.key, rejectUnauthorized: !target.insecure, servername: target.serverName ?? (isIp(server.hostname) ? undefined : server.hostname) };
  const proxy = proxyFor(server, target.proxyUrl);
  const module = process.getBuiltinModule(https ? 'node:https' : 'node:http');
  const agent: Agent = new module.Agent({ keepAlive: true, ...(https ? tlsOptions : {}) });
  if (!proxy) return agent;
  // Through a proxy every connection is a tunnel to the server (CONNECT, or a SOCKS5 connect),
  // with TLS to the server on top for an https server.
  const { host, port } = hostAndPort(server);
  // Node's agents take a socket made asynchronously through the callback of createConnection.
  agent.createConnection = (_options, callback) => {
    const done = (error: Error | null, socket?: Socket) => callback?.(error, socket as Socket);
    tunnel(proxy, host, port).then((socket) => {
      if (!https) return done(null, socket);
      const secure = process.getBuiltinModule('node:tls').connect({ ...tlsOptions, socket });
      secure.once('secureConnect', () => done(null, secure));
      secure.once('error', (error) => done(error));
    }, (error: Error) => done(new KubeApiError(`the proxy ${redactUrl(proxy)} refused the tunnel to ${host}:${port} (${error.message})`)));
    return undefined;
  };
  return agent;
}

/** A server's host (an IPv6 address without its brackets) and port (the scheme's default when it names none). */
function hostAndPort(server: URL): { host: string; port: number } {
  return { host: server.hostname.replace(/^\[|\]$/g, ''), port: Number(server.port || (server.protocol === 'https:' ? 443 : 80)) };
}

const isIp = (host: string) => /^[\d.]+$|:/.test(host);

/** A socket to `host:port` through `proxy`. */
async function tunnel(proxy: URL, host: string, port: number): Promise<Socket> {
  if (proxy.protocol === 'socks5:' || proxy.protocol === 'socks5h:') {
    const { SocksClient } = await import('socks');
    const user = proxy.username ? { userId: decodeURIComponent(proxy.username), password: decodeURIComponent(proxy.password) } : {};
    const { socket } = await SocksClient.createConnection({ proxy: { host: proxy.hostname, port: Number(proxy.port || 1080), type: 5, ...user }, command: 'connect', destination: { host, port } });
    return socket;
  }
  const secure = proxy.protocol === 'https:';
  const http = process.getBuiltinModule(secure ? 'node:https' : 'node:http');
  const authorization = proxy.username ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {};
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port || (secure ? 443 : 80)), method: 'CONNECT', path: `${host.includes(':') ? `[${host}]` : host}:${port}`, headers: { host: `${host}:${port}`, ...authorization }, agent: false });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      }
    });
    req.once('error', reject);
    req.end();
  });
}

/** The proxy for `server`: the cluster's proxy-url, or else the one the environment names for it (Go's rules), if any. */
export function proxyFor(server: URL, proxyUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  if (proxyUrl) return new URL(proxyUrl);
  const https = server.protocol === 'https:';
  const named = https ? env.HTTPS_PROXY || env.https_proxy : (env.REQUEST_METHOD ? undefined : env.HTTP_PROXY || env.http_proxy);
  if (!named) return undefined;
  const { host: hostName, port } = hostAndPort(server);
  const host = hostName.toLowerCase();
  if (host === 'localhost' || isLoopback(host) || bypassed(host, String(port), env.NO_PROXY || env.no_proxy || '')) return undefined;
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(named) ? named : `http://${named}`);
}

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/** Whether NO_PROXY names `host:port`. */
function bypassed(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const colon = entry.lastIndexOf(':');
    if (colon > 0 && !entry.includes(']') && entry.indexOf(':') === colon) [entry, entryPort] = [entry.slice(0, colon), entry.slice(colon + 1)];
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort && entryPort !== port) continue;
    if (isIp(entry)) {
      if (entry === host) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    const subdomainsOnly = entry.startsWith('.');
    const domain = subdomainsOnly ? entry : `.${entry}`;
    if (host.endsWith(domain) || (!subdomainsOnly && host === entry)) return true;
  }
  return false;
}

/** Whether IPv4 `host` is in `cidr` (an IPv6 range never matches an IPv4 host, nor the other way). */
function inCidr(host: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (ip: string) => (/^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip.split('.').reduce((n, part) => n * 256 + Number(part), 0) : undefined);
  const a = toInt(host);
  const b = toInt(base);
  const n = Number(bits);
  if (a === undefined || b === undefined || !(n >= 0 && n <= 32)) return false;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** The server's Status message for a failed request, as kubectl prints it. */
function statusError(status: number, body: string): KubeApiError {
  let message: string | undefined;
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: string; reason?: string };
    if (parsed.kind === 'Status') [message, reason] = [parsed.message, parsed.reason];
  } catch {
    // Not a Status: the HTTP status says it.
  }
  if (status === 401) return new KubeApiError('Unauthorized (HTTP 401): the cluster rejected the credentials; refresh them in the kubeconfig (for kind: `kind export kubeconfig`)', 401, 'Unauthorized');
  const name = reason ?? process.getBuiltinModule('node:http').STATUS_CODES[status] ?? 'Error';
  return new KubeApiError(`${message ?? body.trim().slice(0, 200)} (HTTP ${status} ${name})`.trim(), status, reason);
}

/** A network or TLS failure, in words an operator knows. */
function networkError(context: string, target: KubeTarget, error: Error): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const server = target.server;
  if (code === 'ECONNREFUSED') return new KubeApiError(`the connection to ${server} was refused (is the cluster of context ${context} running?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new KubeApiError(`no such host: ${new URL(server).hostname}`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new KubeApiError(`the connection to ${server} was reset`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return new KubeApiError(`the TLS certificate of ${server} is not trusted (${error.message}): check the kubeconfig's certificate-authority`);
  return new KubeApiError(`${server}: ${error.message}`);
}
