/**
 * The daemon's HTTP endpoint: `POST /webhook` for GitHub deliveries and `GET /health` for
 * probes. Nothing else is served (no control API), so exposing the port through a tunnel
 * exposes only signed-delivery intake.
 *
 * A delivery is checked in this order, and refused at the first failure without launching
 * anything: size (413), content type (415), required headers (400), signature over the raw
 * bytes (401), JSON, or a form whose `payload` field is JSON (400). An accepted delivery is
 * answered at once; the work it causes is done after the response, so GitHub's 10-second
 * budget is never at risk.
 *
 * Anyone who reaches the port can send a body, and a body must be read whole before its
 * signature can be checked. So the bytes of the bodies being read at once are bounded (503
 * beyond that), as are the connections; headers must arrive within a timeout, and a request
 * must finish within another: junk cannot make the daemon hold more than a few tens of MB.
 * (Not the number of bodies being read: Deno's server takes in every request that has arrived
 * before it reads any body, so a burst of small genuine deliveries would count as dozens at
 * once there, one at a time under Node, and be refused.)
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { verifySignature } from './signature.ts';

/** GitHub caps payloads at 25 MB; anything larger is not a GitHub delivery. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** Bytes of not-yet-verified bodies held at once, over all requests: room for one largest delivery and then some. */
export const MAX_PENDING_BYTES = 26 * 1024 * 1024;
/**
 * V8's full collection, exposed at run time. After a burst of big bodies nothing else may
 * allocate for a long while, and until a collection runs their buffers (held outside the JS
 * heap) keep the daemon's memory up; one collection shortly after hands them back.
 */
const collectGarbage = ((): (() => void) | undefined => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

/** GitHub's delivery ids are GUIDs; anything else is refused before it reaches a log. */
const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The two content types a GitHub webhook can be set to: `json` sends the payload as the body,
 * `form` as the `payload` field of a form. Either way the signature covers the body as sent.
 */
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A verified delivery. */
export interface Delivery {
  id: string;
  event: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
}

/** What the daemon made of a verified delivery; decides the HTTP answer. */
export type Verdict = 'wake' | 'ignored' | 'duplicate' | 'ping';

/** Options of `createWebhookServer`. */
export interface WebhookServerOptions {
  secret: string;
  maxBodyBytes?: number;
  maxPendingBytes?: number;
  /** Called synchronously for each verified delivery; must be quick (no I/O waits). */
  onDelivery(delivery: Delivery): Verdict;
  /**
   * Called for each refused request, with the HTTP status and the delivery id when it had a
   * well-formed one. The request is unauthenticated: count it, never store what it said.
   */
  onRejected(status: number, reason: string, id: string | undefined): void;
  /** The body of `GET /health`. */
  health(): Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Answers and then drops the connection: used when the client is still sending a body we refuse. */
function refuseAndClose(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.on('finish', () => req.destroy());
  reply(res, status, body, { connection: 'close' });
}

const STATUS_OF: Record<Verdict, number> = { wake: 202, ignored: 200, duplicate: 200, ping: 200 };

/** Creates the server (not yet listening). */
export function createWebhookServer(options: WebhookServerOptions): Server {
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const maxPendingBytes = options.maxPendingBytes ?? MAX_PENDING_BYTES;
  let pendingBytes = 0;
  let collecting: NodeJS.Timeout | undefined;
  const collectSoon = () => {
    if (!collectGarbage || collecting) return;
    collecting = setTimeout(() => {
      collecting = undefined;
      collectGarbage();
    }, 500).unref();
  };

  const handleWebhook = (req: IncomingMessage, res: ServerResponse, receivedAt: number): void => {
    const rawId = header(req, 'x-github-delivery');
    const id = rawId !== undefined && DELIVERY_ID.test(rawId) ? rawId : undefined;
    const reject = (status: number, reason: string, close = false) => {
      options.onRejected(status, reason, id);
      if (close) refuseAndClose(req, res, status, { error: reason });
      else reply(res, status, { error: reason });
    };
    const declared = Number(header(req, 'content-length'));
    if (Number.isFinite(declared) && declared > maxBody) return reject(413, `body of ${declared} bytes is over the ${maxBody}-byte limit`, true);
    const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== JSON_TYPE && type !== FORM_TYPE) return reject(415, `content type must be ${JSON_TYPE} or ${FORM_TYPE} (the webhook's content type json or form), not '${type || 'none'}'`, true);
    const event = header(req, 'x-github-event');
    if (!event || !rawId) return reject(400, 'required headers X-GitHub-Event and X-GitHub-Delivery are missing', true);
    if (!id || !/^[\w.-]{1,64}$/.test(event)) return reject(400, 'X-GitHub-Delivery or X-GitHub-Event is not what GitHub sends', true);
    const signature = header(req, 'x-hub-signature-256');
    if (!signature) return reject(401, 'X-Hub-Signature-256 is missing (set the webhook secret)', true);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      pendingBytes -= size;
      chunks.length = 0;
      if (size > 1024 * 1024) collectSoon();
    };
    req.on('close', uncount);
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      pendingBytes += chunk.length;
      if (size > maxBody || pendingBytes > maxPendingBytes) {
        refused = true;
        uncount();
        if (size > maxBody) reject(413, `body is over the ${maxBody}-byte limit`, true);
        else reject(503, 'too much unverified data is being received at once; try again', true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refused) return;
      // Checked over the chunks as they came: an unsigned body is never copied whole.
      const body = verifySignature(options.secret, chunks, signature) ? Buffer.concat(chunks, size) : undefined;
      uncount();
      if (!body) return reject(401, 'signature does not match');
      const json = type === FORM_TYPE ? new URLSearchParams(body.toString('utf8')).get('payload') : body.toString('utf8');
      if (json === null) return reject(400, 'the form has no payload field');
      let payload: unknown;
      try {
        payload = JSON.parse(json);
      } catch {
        return reject(400, type === FORM_TYPE ? 'the payload field is not valid JSON' : 'body is not valid JSON');
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return reject(400, 'body is not a JSON object');
      const record = payload as Record<string, unknown>;
      const action = typeof record.action === 'string' ? record.action : undefined;
      const verdict = options.onDelivery({ id, event, action, payload: record, receivedAt });
      reply(res, STATUS_OF[verdict], { ok: true, delivery: id, outcome: verdict });
    });
  };

  // 16 KiB of headers is plenty for GitHub and caps what a junk request makes us parse.
  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    const receivedAt = performance.now();
    const url = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    if (url === '/webhook') {
      if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return handleWebhook(req, res, receivedAt);
    }
    if (url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) return reply(res, 200, { ok: true, ...options.health() });
    reply(res, 404, { error: 'not found' });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  // Idle keep-alive connections must not hold the daemon open at shutdown.
  server.keepAliveTimeout = 5000;
  // A slow sender (slowloris) is cut off: headers within 10 s, the whole request within 60 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.maxConnections = 256;
  return server;
}

/** Starts listening; resolves to the bound port, rejects with the listen error (EADDRINUSE ...). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Asks the server for its own `/health` over the network, as a probe would: proof that it
 * answers, not only listens. Resolves to the failure, or undefined when it answered 200.
 */
export function probeHealth(host: string, port: number, timeoutMs = 5000): Promise<string | undefined> {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve) => {
    const req = request({ host: target, port, path: '/health', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}
