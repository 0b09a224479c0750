/**
 * kube-sim server process: a Kubernetes API simulator (core/v1, apps/v1 StatefulSets) for real
 * kubectl, plus a separate control port for fault injection.
 *
 *   node --import tsx test/support/kube-sim/server.ts --port 0 --state-dir DIR
 *   deno run -A test/support/kube-sim/server.ts --port 0 --state-dir DIR
 *
 * Options: --port N (API, 0 = any), --control-port N, --host ADDR (127.0.0.1), --state-dir DIR
 * (snapshot `store.json` and `kube-sim.json` with the ports), --time-scale F (multiplies every
 * lifecycle delay), --version X.Y.Z (reported by /version, default 1.32.2), --exit-with-stdin
 * (exit when stdin closes, so a killed parent never leaves the simulator behind).
 * Once both ports listen it prints one JSON line: {"port":N,"controlPort":M,"pid":P}.
 *
 * Serving and authentication, as a kube-apiserver with --anonymous-auth=false would:
 *   --tls-cert FILE --tls-key FILE   serve the API over https (the control port stays http)
 *   --client-ca FILE                 a client certificate signed by this CA authenticates
 *   --token-file FILE                a request with `Authorization: Bearer <the file's token>` authenticates
 * With --client-ca or --token-file set, any other request gets 401 and a Status body
 * (`Unauthorized`); without them every request is let in, as before.
 *
 * Control API (JSON over HTTP on the control port):
 *   POST /faults {kind, ...}   inject a fault (see Fault in faults.ts); DELETE /faults clears all
 *   GET  /faults               the active faults
 *   GET  /requests             the API request log; DELETE /requests clears it
 *   POST /reset [{state:true}] clear faults and the log (and, with state, every object)
 *   POST /pods/kill {namespace, name, exitCode}   the pod's containers exit now
 *   GET  /healthz
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { KubeApi } from './api.ts';
import { recordUpdate } from './apply.ts';
import { RequestLog } from './control.ts';
import { Faults, type Fault } from './faults.ts';
import { Lifecycle } from './lifecycle.ts';
import { StatefulSetController } from './statefulsets.ts';
import { applyCreateDefaults, RESOURCES, seedObjects } from './resources.ts';
import { Store } from './store.ts';
import { asNum, asObj, timestamp, uid, type Obj } from './util.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: 'string', default: '0' },
    'control-port': { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'state-dir': { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    version: { type: 'string', default: '1.32.2' },
    'exit-with-stdin': { type: 'boolean', default: false },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'client-ca': { type: 'string' },
    'token-file': { type: 'string' },
  },
});

/** The token that authenticates, read from a file so it never shows in `ps`. */
const token = args['token-file'] ? readFileSync(args['token-file'], 'utf8').trim() : undefined;
const clientCa = args['client-ca'] ? readFileSync(args['client-ca']) : undefined;
const authRequired = token !== undefined || clientCa !== undefined;

const host = args.host;
const stateDir = args['state-dir'];
const version = args.version;
const timeScale = Number(args['time-scale']);
if (stateDir) mkdirSync(stateDir, { recursive: true });

const store = new Store(stateDir ? join(stateDir, 'store.json') : undefined);
const faults = new Faults();
const lifecycle = new Lifecycle(store, faults, timeScale);
const statefulSets = new StatefulSetController(store, lifecycle, timeScale);
const api = new KubeApi(store, lifecycle, version);
statefulSets.createPod = (pod) => api.createByController('pods', pod, 'kube-controller-manager');

/** Creates the objects of a fresh kind cluster. */
function seed(): void {
  for (const { plural, obj } of seedObjects(version)) {
    applyCreateDefaults(plural, obj);
    obj.metadata.uid = uid();
    obj.metadata.creationTimestamp = timestamp();
    const fields = { owners: {}, applied: {} };
    recordUpdate(fields, undefined, obj, 'kube-apiserver', RESOURCES[plural].kind);
    store.put(plural, obj, fields);
    if (plural === 'namespaces') {
      store.put('serviceaccounts', { metadata: { name: 'default', namespace: obj.metadata.name, uid: uid(), creationTimestamp: timestamp() } }, { owners: {}, applied: {} });
    }
  }
}

if (!store.load()) seed();
lifecycle.start();
statefulSets.start();

const requestLog = new RequestLog();

// --- API listener -------------------------------------------------------------------------------

const held = new Set<ServerResponse>();
let refuseTimer: ReturnType<typeof setTimeout> | undefined;
let hangTimer: ReturnType<typeof setTimeout> | undefined;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function onApiRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
  const method = req.method ?? 'GET';
  const entry = requestLog.add(req, res, url);
  const action = faults.transport(method, entry.path);
  if (action.type === 'hang') {
    entry.status = 'hang';
    held.add(res);
    res.on('close', () => held.delete(res));
    return;
  }
  if (action.type === 'reset') {
    entry.status = 'reset';
    req.socket.destroy();
    return;
  }
  const viaCert = clientCa !== undefined && (req.socket as TLSSocket).authorized === true;
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (viaCert) entry.auth = 'client-cert';
  else if (bearer !== undefined) entry.auth = 'bearer';
  if (authRequired && !viaCert && (token === undefined || bearer !== token)) {
    // What kube-apiserver answers when no authenticator accepts the request.
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
    return;
  }
  const body = await readBody(req);
  if (body.length && !/protobuf/.test(entry.contentType ?? '')) entry.body = body.toString('utf8').slice(0, 65_536);
  if (action.type === 'error') {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (action.retryAfter !== undefined) headers['Retry-After'] = String(action.retryAfter);
    res.writeHead(action.status, headers);
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: action.message, reason: action.reason, details: { causes: [{ message: action.message }] }, code: action.status }));
    return;
  }
  if (action.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, action.delayMs));
  api.handle({ method, url, headers: req.headers, body }, res);
}

function onApi(req: IncomingMessage, res: ServerResponse): void {
  onApiRequest(req, res).catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(String(error));
  });
}

const apiServer: http.Server = args['tls-cert'] && args['tls-key']
  ? https.createServer({
    cert: readFileSync(args['tls-cert']),
    key: readFileSync(args['tls-key']),
    // Ask for a client certificate but let requests without one reach the authentication check.
    ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: false } : {}),
  }, onApi)
  : http.createServer(onApi);
apiServer.keepAliveTimeout = 30_000;

let apiPort = Number(args.port);

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function releaseHeld(): void {
  for (const res of held) res.destroy();
  held.clear();
}

/** Closes the API listener and every open connection: clients now get "connection refused". */
function refuse(forMs: number | undefined): void {
  faults.refusing = true;
  if (apiServer.listening) {
    apiServer.close();
    apiServer.closeAllConnections();
  }
  releaseHeld();
  if (refuseTimer) clearTimeout(refuseTimer);
  refuseTimer = forMs === undefined ? undefined : setTimeout(() => void restore(), forMs);
}

async function restore(): Promise<void> {
  if (refuseTimer) clearTimeout(refuseTimer);
  refuseTimer = undefined;
  faults.refusing = false;
  if (!apiServer.listening) await listen(apiServer, apiPort);
}

async function clearFaults(): Promise<void> {
  faults.clear();
  if (hangTimer) clearTimeout(hangTimer);
  releaseHeld();
  await restore();
}

// --- control listener ---------------------------------------------------------------------------

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function exitNow(code: number): never {
  store.save();
  process.exit(code);
}

async function onControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const text = (await readBody(req)).toString('utf8');
  const body = asObj(text.trim() ? JSON.parse(text) : {}) ?? {};
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /healthz':
      return reply(res, 200, { ok: true, port: apiPort });
    case 'GET /requests':
      return reply(res, 200, requestLog.list());
    case 'DELETE /requests':
      requestLog.clear();
      return reply(res, 200, { ok: true });
    case 'GET /faults':
      return reply(res, 200, {
        refusing: faults.refusing, hangs: faults.hangs, resets: faults.resets, errors: faults.errors,
        latencies: faults.latencies, podRules: faults.podRules, loadedImages: faults.loadedImages, saDelayMs: faults.saDelayMs,
      });
    case 'DELETE /faults':
      await clearFaults();
      return reply(res, 200, { ok: true });
    case 'POST /faults': {
      const fault = body as unknown as Fault;
      if (fault.kind === 'crash') {
        reply(res, 200, { ok: true });
        res.on('finish', () => exitNow(asNum(fault.exitCode) ?? 1));
        return;
      }
      faults.add(fault);
      if (fault.kind === 'refuse') refuse(asNum(fault.forMs));
      if (fault.kind === 'hang' && fault.forMs !== undefined) {
        hangTimer = setTimeout(() => {
          faults.hangs = [];
          releaseHeld();
        }, fault.forMs);
      }
      return reply(res, 200, { ok: true });
    }
    case 'POST /reset':
      await clearFaults();
      requestLog.clear();
      if (body.state === true) {
        lifecycle.stop();
        statefulSets.stop();
        store.clear();
        seed();
        lifecycle.start();
        statefulSets.start();
      }
      return reply(res, 200, { ok: true });
    case 'POST /pods/kill': {
      const found = lifecycle.killContainers(String(body.namespace ?? 'default'), String(body.name ?? ''), asNum(body.exitCode) ?? 1);
      return reply(res, found ? 200 : 404, { ok: found });
    }
    default:
      return reply(res, 404, { error: `no control route ${route}` });
  }
}

const controlServer = http.createServer((req, res) => {
  onControl(req, res).catch((error: unknown) => reply(res, 400, { error: error instanceof Error ? error.message : String(error) }));
});

// --- start --------------------------------------------------------------------------------------

apiPort = await listen(apiServer, apiPort);
const controlPort = await listen(controlServer, Number(args['control-port']));
const ready: Obj = { port: apiPort, controlPort, pid: process.pid };
if (stateDir) {
  const file = join(stateDir, 'kube-sim.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(ready));
  renameSync(`${file}.tmp`, file);
}
process.stdout.write(`${JSON.stringify(ready)}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => exitNow(0));
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => exitNow(0));
  process.stdin.on('close', () => exitNow(0));
  process.stdin.resume();
}
