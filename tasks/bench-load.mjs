/**
 * A lean HTTP load generator for the daemon bench (tasks/bench-daemon.ts), run as its own
 * process: `node tasks/bench-load.mjs < job.json`, latencies (ms, in completion order) as JSON on
 * stdout.
 *
 * The bench measures how fast a server acknowledges, so the client must cost next to nothing:
 * with node:http's client in the bench process itself, parsing the answers and building the
 * next requests took longer than the server's work, and most of the slowest answers' time was
 * spent in the client. Here every request is serialised up front, answers are parsed only as far
 * as the status line and Content-Length, and the client's own code is warmed against a private
 * in-process server before the measured run, so the first measured requests do not pay for
 * compiling the client.
 *
 * Job: { port, path, count, concurrency, body, headers, uniqueHeader?, warmup? (requests, default none) }. Each request
 * gets `uniqueHeader` (e.g. x-github-delivery) set to a fresh UUID. A non-2xx answer fails the run.
 */
import { randomUUID } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** One request's bytes: head and body in a single buffer, so it leaves in one write. */
function serialise(job, port) {
  const headers = { ...job.headers, host: `127.0.0.1:${port}`, 'content-length': String(Buffer.byteLength(job.body)) };
  if (job.uniqueHeader) headers[job.uniqueHeader] = randomUUID();
  const head = `POST ${job.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head), Buffer.from(job.body)]);
}

/**
 * Sends `requests` over `concurrency` keep-alive connections, each sending its next request when
 * the previous answer is complete. Resolves to each request's latency, connection set-up included
 * for the first request on a connection.
 */
function blast(port, requests, concurrency) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    if (requests.length === 0) return resolve(latencies);
    let next = 0;
    let open = 0;
    const startConnection = () => {
      if (next >= requests.length) return;
      open++;
      let began = performance.now();
      let pending = Buffer.alloc(0);
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      const send = () => {
        if (next >= requests.length) {
          socket.end();
          return;
        }
        const request = requests[next++];
        began = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          const headEnd = pending.indexOf(HEAD_END);
          if (headEnd < 0) return;
          const head = pending.subarray(0, headEnd).toString('latin1');
          const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? Number.NaN);
          if (!Number.isFinite(length)) return reject(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
          const end = headEnd + HEAD_END.length + length;
          if (pending.length < end) return;
          const status = Number(head.slice(9, 12));
          if (status < 200 || status >= 300) return reject(new Error(`HTTP ${status}: ${pending.subarray(headEnd + 4, end).toString()}`));
          latencies.push(performance.now() - began);
          pending = pending.subarray(end);
          send();
        }
      });
      socket.on('error', reject);
      socket.on('close', () => {
        open--;
        if (open === 0) resolve(latencies);
      });
    };
    for (let i = 0; i < concurrency; i++) startConnection();
  });
}

/** A private server that answers like the real one, for warming the client's own code. */
function warmupServer() {
  const answer = Buffer.from('HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}');
  const server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf(HEAD_END);
        if (headEnd < 0) return;
        const length = Number(CONTENT_LENGTH.exec(pending.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
        const end = headEnd + HEAD_END.length + length;
        if (pending.length < end) return;
        pending = pending.subarray(end);
        socket.write(answer);
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));

if (job.warmup) {
  const warm = await warmupServer();
  const warmPort = warm.address().port;
  await blast(warmPort, Array.from({ length: job.warmup }, () => serialise(job, warmPort)), job.concurrency);
  warm.close();
}

const requests = Array.from({ length: job.count }, () => serialise(job, job.port));
const latencies = await blast(job.port, requests, job.concurrency);
process.stdout.write(JSON.stringify(latencies));
