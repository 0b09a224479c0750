/**
 * The fast read path to a Kubernetes API server: bm's own kubeconfig reading plus one GET over
 * node:http(s), without @kubernetes/client-node.
 *
 * Why: importing client-node costs half a second or more (its config module loads the whole
 * generated API, openid-client and more), several times the budget of `bm status` and of a
 * `bm start --formation k8s` that finds nothing to do. Both only need the pods of a namespace:
 * one GET.
 *
 * Only a context this module can honour exactly as kubectl would takes the fast path:
 *
 * - one kubeconfig file: $KUBECONFIG naming a single file, else ~/.kube/config;
 * - a cluster with an http(s) `server` (a path prefix is fine), `certificate-authority` or
 *   `certificate-authority-data`, `insecure-skip-tls-verify`;
 * - a user with no credentials, `token` and/or `tokenFile` (the file wins while it can be read,
 *   as in kubectl), `client-certificate(-data)` with `client-key(-data)`; like kubectl, bm
 *   reads and sends the user's credentials over https only, never over plain http;
 * - no proxy variable in the environment, unless the server is on the loopback interface
 *   (kubectl never proxies loopback).
 *
 * Everything else routes to `fallback` and the caller uses client-node as before: several
 * kubeconfig files to merge, exec plugins, auth-provider, basic auth, impersonation, proxy-url,
 * tls-server-name, a field this module does not know, a file and inline data for the same
 * item, a missing or unparsable kubeconfig. Writes (stop, purge) always go through client-node.
 *
 * Credentials are only ever put in the request: never in an error message or a log line.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { yaml } from '../yaml.ts';

/** Where and how to send API requests for one context. */
export interface ApiTarget {
  /** The API server URL, possibly with a path prefix. */
  server: URL;
  /** CA bundle for an https server; absent means Node's trusted roots. */
  ca?: Buffer;
  insecure: boolean;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

/** How to reach a context: directly, or through client-node (with why). */
export type Route = { kind: 'direct'; target: ApiTarget } | { kind: 'fallback'; reason: string };

/** An HTTP error answer; `code` is the status, as on client-node's ApiException. */
export class KubeApiError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Thrown while resolving: this kubeconfig is for client-node. */
class Fallback extends Error {}

function fallback(reason: string): never {
  throw new Fallback(reason);
}

type Json = Record<string, unknown>;

const CONTEXT_KEYS = new Set(['cluster', 'user', 'namespace', 'extensions']);
// `disable-compression` only concerns gzip, which this path never asks for.
const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'disable-compression', 'extensions']);
const USER_KEYS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'extensions']);
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];
/** The largest answer read: a list of a few hundred pods is a few megabytes at most. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one kubeconfig file kubectl would read. */
function kubeconfigFile(env: NodeJS.ProcessEnv): string {
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    if (files.length !== 1) fallback('KUBECONFIG lists several files to merge');
    if (!existsSync(files[0])) fallback(`${files[0]} does not exist`);
    return files[0];
  }
  const file = path.join(env.HOME || os.homedir(), '.kube', 'config');
  if (!existsSync(file)) fallback(`${file} does not exist`);
  return file;
}

/** The body (`context`, `cluster` or `user`) of the entry called `name` in a named list. */
function named(config: Json, list: 'contexts' | 'clusters' | 'users', name: string): Json | undefined {
  const items = config[list] ?? [];
  if (!Array.isArray(items)) fallback(`${list} is not a list`);
  const found = items.filter((item) => isRecord(item) && item.name === name) as Json[];
  if (found.length > 1) fallback(`${list} has ${found.length} entries called ${name}`);
  if (found.length === 0) return undefined;
  // Each entry is `{name, <singular of the list>: {...}}`.
  const body = found[0][list.slice(0, -1)] ?? {};
  if (!isRecord(body)) fallback(`${list} entry ${name} is not a mapping`);
  return body;
}

function onlyKnown(object: Json, known: Set<string>, what: string): void {
  const unknown = Object.keys(object).filter((k) => !known.has(k));
  if (unknown.length > 0) fallback(`${what} uses ${unknown.join(', ')}`);
}

function text(object: Json, key: string, what: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fallback(`${what}: ${key} is not a string`);
  return value;
}

/** Reads a file the kubeconfig names; the error says which file, never what is in it. */
function readNamed(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read ${key} ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A `<key>` file (relative to the kubeconfig's directory) or its inline base64 `<key>-data`. */
function material(object: Json, key: string, dir: string, what: string): Buffer | undefined {
  const file = text(object, key, what);
  const data = text(object, `${key}-data`, what);
  // kubectl rejects a kubeconfig that gives both; let client-node say what it does with it.
  if (file && data) fallback(`${what} gives both ${key} and ${key}-data`);
  if (data !== undefined) {
    const compact = data.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) fallback(`${what}: ${key}-data is not base64`);
    return Buffer.from(compact, 'base64');
  }
  return file === undefined ? undefined : readNamed(path.resolve(dir, file), key);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The bearer token of a user: `tokenFile` while it can be read (kubectl re-reads it), else `token`. */
function tokenOf(user: Json, dir: string, what: string): string | undefined {
  const token = text(user, 'token', what);
  const tokenFile = text(user, 'tokenFile', what);
  if (tokenFile === undefined) return token;
  const full = path.resolve(dir, tokenFile);
  let fromFile: string | undefined;
  try {
    fromFile = readFileSync(full, 'utf8').trim();
  } catch {
    // kubectl keeps the inline token when the file cannot be read.
  }
  if (fromFile) return fromFile;
  if (token) return token;
  throw new Error(`cannot read a token from tokenFile ${full}`);
}

/** The parsed kubeconfig. Never through the parse cache: its users hold credentials. */
function readKubeconfig(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    fallback(`${file} cannot be read`);
  }
  let parsed: unknown;
  try {
    parsed = yaml().parse(text);
  } catch {
    fallback(`${file} does not parse`);
  }
  if (!isRecord(parsed)) fallback(`${file} is not a kubeconfig`);
  return parsed;
}

/** Resolves `context`: throws Fallback for what it cannot honour, Error for a broken setup. */
function resolve(context: string, env: NodeJS.ProcessEnv): ApiTarget {
  const file = kubeconfigFile(env);
  const config = readKubeconfig(file);
  const ctx = named(config, 'contexts', context);
  if (!ctx) throw new Error(`context '${context}' is not in the kubeconfig (${file})`);
  onlyKnown(ctx, CONTEXT_KEYS, `context ${context}`);
  const dir = path.dirname(path.resolve(file));

  const clusterName = text(ctx, 'cluster', `context ${context}`);
  const cluster = clusterName === undefined ? undefined : named(config, 'clusters', clusterName);
  if (!cluster) fallback(`context ${context} names no cluster in ${file}`);
  const where = `cluster ${clusterName}`;
  onlyKnown(cluster, CLUSTER_KEYS, where);
  let server: URL;
  try {
    server = new URL(text(cluster, 'server', where) ?? '');
  } catch {
    fallback(`${where} has no server URL`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') fallback(`${where}: the server is neither http nor https`);
  if (server.username || server.password || server.search || server.hash) fallback(`${where}: the server URL has credentials, a query or a fragment`);
  const insecure = cluster['insecure-skip-tls-verify'] ?? false;
  if (typeof insecure !== 'boolean') fallback(`${where}: insecure-skip-tls-verify is not a boolean`);
  const ca = material(cluster, 'certificate-authority', dir, where);
  if (ca && insecure) fallback(`${where} gives a CA and insecure-skip-tls-verify`);
  if (!isLoopback(server.hostname) && PROXY_VARIABLES.some((v) => env[v])) fallback('a proxy is set in the environment');
  if (server.protocol === 'http:') {
    if (ca) fallback(`${where}: a CA for an http server`);
    // kubectl reads the user's credentials for a TLS connection only: over http it sends none.
    return { server, insecure };
  }

  const userName = text(ctx, 'user', `context ${context}`);
  const user = userName === undefined ? {} : named(config, 'users', userName);
  if (!user) fallback(`context ${context} names no user in ${file}`);
  const who = `user ${userName}`;
  onlyKnown(user, USER_KEYS, who);
  const cert = material(user, 'client-certificate', dir, who);
  const key = material(user, 'client-key', dir, who);
  if (Boolean(cert) !== Boolean(key)) fallback(`${who} has a client certificate or key without the other`);
  const token = tokenOf(user, dir, who);
  if (token !== undefined && /[^\x21-\x7e]/.test(token)) fallback(`${who}: the token is not a plain header value`);
  return { server, insecure, ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), ...(token ? { token } : {}) };
}

/**
 * How to reach `context` of the kubeconfig `env` points at. Throws when the context does not
 * exist or a file it names cannot be read.
 */
export function resolveRoute(context: string, env: NodeJS.ProcessEnv = process.env): Route {
  try {
    return { kind: 'direct', target: resolve(context, env) };
  } catch (error) {
    if (!(error instanceof Fallback)) throw error;
    return { kind: 'fallback', reason: error.message };
  }
}

const routes = new Map<string, Route>();

/** `resolveRoute` for the operator's kubeconfig, once per context and process. */
export function routeTo(context: string): Route {
  let route = routes.get(context);
  if (!route) {
    route = resolveRoute(context);
    routes.set(context, route);
  }
  return route;
}

/** The message of a Status body, when the body is one. */
function statusMessage(body: string): string | undefined {
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown };
    return status.kind === 'Status' && typeof status.message === 'string' && status.message ? status.message : undefined;
  } catch {
    return undefined;
  }
}

/** The client, URL and options of a GET of `apiPath` on `target`. */
async function requestOf(target: ApiTarget, apiPath: string, accept: string): Promise<{ send: typeof import('node:https').request; url: URL; options: RequestOptions }> {
  const https = target.server.protocol === 'https:';
  // Only the client the server needs: node:https (with TLS) costs twice what node:http does.
  const { request: send } = https ? await import('node:https') : await import('node:http');
  const url = new URL(target.server.href);
  const query = apiPath.indexOf('?');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${query === -1 ? apiPath : apiPath.slice(0, query)}`;
  url.search = query === -1 ? '' : apiPath.slice(query);
  const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'bm' };
  if (target.token) headers.Authorization = `Bearer ${target.token}`;
  // `agent: false`: a one-off connection, nothing kept alive to hold the process open.
  const options: RequestOptions = { method: 'GET', headers, agent: false };
  if (https) {
    options.rejectUnauthorized = !target.insecure;
    if (target.ca) options.ca = target.ca;
    if (target.cert && target.key) {
      options.cert = target.cert;
      options.key = target.key;
    }
  }
  return { send, url, options };
}

/**
 * GETs `apiPath` as a stream of text (a pod's log, `follow=true` included): resolves with the
 * response once the server answers 2xx within `timeoutMs`, rejects as getJson does otherwise.
 * The caller reads it to the end or destroys it.
 */
export async function getStream(target: ApiTarget, apiPath: string, timeoutMs: number): Promise<IncomingMessage> {
  const { send, url, options } = await requestOf(target, apiPath, 'text/plain, */*');
  return new Promise((resolve, reject) => {
    const request = send(url, options, (response) => {
      clearTimeout(timer);
      const code = response.statusCode ?? 0;
      if (code >= 200 && code <= 299) {
        resolve(response);
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => reject(new KubeApiError(code, `${statusMessage(Buffer.concat(chunks).toString('utf8')) ?? response.statusMessage ?? 'error'} (HTTP ${code})`)));
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer from the API server within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}

/**
 * GETs `apiPath` (`/api/v1/...`, query included; a list as metadata only with `metadataOnly`)
 * and parses the JSON answer. Rejects with
 * KubeApiError on an error status, with the socket error (ECONNREFUSED, ECONNRESET, a TLS
 * error...) when there is no answer, and after `timeoutMs` in all: a paused cluster accepts
 * connections and never answers.
 */
export async function getJson(target: ApiTarget, apiPath: string, timeoutMs: number, metadataOnly = false): Promise<unknown> {
  // A list as PartialObjectMetadataList carries no data (a Secret's values stay on the server).
  const { send, url, options } = await requestOf(target, apiPath, metadataOnly ? 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' : 'application/json');
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    };
    const request = send(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) request.destroy(new Error(`the API server's answer is over ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', (error) => settle(error));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const code = response.statusCode ?? 0;
        if (code < 200 || code > 299) {
          settle(new KubeApiError(code, `${statusMessage(body) ?? response.statusMessage ?? 'error'} (HTTP ${code})`));
          return;
        }
        try {
          settle(undefined, JSON.parse(body));
        } catch {
          settle(new Error(`the API server answered HTTP ${code} with something that is not JSON`));
        }
      });
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer from the API server within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => settle(error));
    request.end();
  });
}
