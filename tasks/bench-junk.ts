/**
 * The `junk` section of `npm run bench`: what unauthenticated senders cost the daemon. Sixteen
 * clients at once each send a 24 MB body with a bad signature to a real daemon (webhook mode),
 * and the same to a bare node:http server that reads whole bodies (what the daemon did before
 * its limits). Figures: peak and settled resident memory (targets: < 150 MB at the peak, back
 * under 100 MB within 10 s), and how long the daemon took to get back under 100 MB.
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { bareServer, rssMb } from './bench-daemon.ts';
import type { RecordFn } from './bench.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.cjs');
const SENDERS = 16;
const BODY = Buffer.alloc(24 * 1024 * 1024, 'x');

function send(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1', port, path: '/webhook', method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': BODY.length, 'x-github-event': 'issues', 'x-github-delivery': `junk-${Math.random().toString(36).slice(2)}`, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end(BODY);
  });
}

/** Sends the junk while sampling the server's RSS; returns the peak (MB). */
async function flood(port: number, pid: number): Promise<number> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  await Promise.all(Array.from({ length: SENDERS }, () => send(port)));
  clearInterval(timer);
  return Math.max(peak, rssMb(pid));
}

/** Milliseconds until the RSS of `pid` is under `mb` (at most `limitMs`). */
async function settle(pid: number, mb: number, limitMs: number): Promise<number> {
  const began = performance.now();
  while (rssMb(pid) >= mb && performance.now() - began < limitMs) await new Promise((resolve) => setTimeout(resolve, 50));
  return performance.now() - began;
}

/** Runs the section, recording each figure with `record`. */
export async function benchJunk(record: RecordFn): Promise<void> {
  process.stderr.write(`junk: ${SENDERS} parallel unsigned ${BODY.length / 1024 / 1024} MB bodies, daemon vs a bare server reading whole bodies\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-junk-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BM_HOME: path.join(dir, 'bm-home'), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig') };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n');
    bm('init', '--non-interactive', '--team-name', 'junk', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
    const bare = await bareServer();
    let barePeak = 0;
    let bareAfter = 0;
    try {
      barePeak = await flood(bare.port, bare.child.pid ?? 0);
      await settle(bare.child.pid ?? 0, 100, 10_000);
      bareAfter = rssMb(bare.child.pid ?? 0);
    } finally {
      bare.child.kill();
    }
    const started = /PID (\d+)\), listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bm('daemon', 'start', '--port', '0'));
    if (!started) throw new Error('the daemon did not start');
    const pid = Number(started[1]);
    const idle = rssMb(pid);
    const peak = await flood(Number(started[2]), pid);
    const backMs = await settle(pid, 100, 10_000);
    const after = rssMb(pid);
    bm('daemon', 'stop');
    record('junk', `daemon RSS at rest (MB, not ms)`, idle, 'bare server RSS after', bareAfter);
    record('junk', `daemon peak RSS, ${SENDERS} × 24 MB unsigned (MB)`, peak, 'bare server peak', barePeak, '< 150 MB');
    record('junk', 'daemon RSS 10 s later at most (MB)', after, 'bare server after', bareAfter, '< 100 MB');
    record('junk', 'daemon back under 100 MB after (ms)', backMs, 'the 10 s budget', 10_000, '< 10000 ms');
  } finally {
    try {
      bm('daemon', 'stop');
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
