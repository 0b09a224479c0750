/**
 * The webhook server's limits against unauthenticated senders: bodies read at once are bounded
 * in bytes, odd ids never reach the rejection callback, and a signed delivery still
 * gets through once the junk is gone.
 */
import { request } from 'node:http';
import type { Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWebhookServer, listen } from '../../lib/daemon/server.ts';
import { signBody } from '../../lib/daemon/signature.ts';
import { waitFor } from '../support/wait.ts';

const SECRET = 'test-secret';

/**
 * POSTs `body`; resolves with the status (0 when the connection was dropped). With `beforeLastSlice`,
 * all of the body but its last slice is written first, and the rest only once that promise
 * resolves: so several bodies can be made to be in the server's hands at the same time.
 */
function post(port: number, headers: Record<string, string | number>, body: Buffer | string, beforeLastSlice?: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/webhook', method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (!beforeLastSlice) return req.end(data);
    const last = data.length - 64 * 1024;
    // The callback runs once the kernel took the bytes, or with an error once the server dropped the request.
    req.write(data.subarray(0, last), () => void beforeLastSlice().then(() => req.end(data.subarray(last))));
  });
}

async function withServer(fn: (port: number, rejected: [number, string | undefined][]) => Promise<void>): Promise<void> {
  const rejected: [number, string | undefined][] = [];
  const server: Server = createWebhookServer({
    secret: SECRET,
    maxPendingBytes: 2 * 1024 * 1024,
    onDelivery: () => 'wake',
    onRejected: (status, _reason, id) => rejected.push([status, id]),
    health: () => ({}),
  });
  const port = await listen(server, 0, '127.0.0.1');
  try {
    await fn(port, rejected);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const headers = (id: string, body: Buffer | string, signature = 'sha256=' + '0'.repeat(64)) => ({
  'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': id, 'x-hub-signature-256': signature, 'content-length': Buffer.byteLength(body),
});

test('parallel unsigned bodies beyond the byte budget get 503; a signed delivery then passes', async () => {
  await withServer(async (port, rejected) => {
    const junk = Buffer.alloc(1024 * 1024, 'x');
    // No body is finished before the server refused four for the budget. Bytes the kernel took are
    // not yet in the server's hands, and a server that gets to them late reads whole bodies one by
    // one; unfinished, all eight are read, and only two fit in the budget. If it refuses fewer, the
    // bodies are finished after the wait, and the test says so.
    const refused = waitFor('four bodies refused for the budget', () => rejected.filter(([status]) => status === 503).length >= 4).catch(() => undefined);
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(port, headers(`junk-${i}`, junk), junk, () => refused)));
    assert.ok(statuses.filter((s) => s === 503 || s === 0).length >= 4, `budget enforced: ${statuses}`);
    assert.ok(statuses.every((s) => s === 401 || s === 503 || s === 0), `${statuses}`);
    assert.ok(rejected.length >= 8);
    const body = '{"action":"opened"}';
    assert.is(await post(port, headers('good-1', body, signBody(SECRET, body)), body), 202, 'the budget is given back');
  });
});

test('a delivery id that is not a GUID-like token is refused and never handed on', async () => {
  await withServer(async (port, rejected) => {
    const long = 'a'.repeat(15_000);
    assert.is(await post(port, headers(long, '{}'), '{}'), 400);
    assert.is(await post(port, headers('line\tbreak', '{}'), '{}'), 400);
    assert.equal(rejected, [[400, undefined], [400, undefined]]);
  });
});

test.run();
