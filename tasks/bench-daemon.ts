/**
 * The `daemon` section of `npm run bench`: a real daemon (webhook mode, three members with the
 * stub ralph) under 500 signed deliveries sent as fast as loopback allows.
 *
 * - acknowledgement latency (p50, p99) as a client sees it, sent by a lean load generator in its
 *   own process (bench-load.mjs), against a bare node:http server that reads the same bodies
 *   and answers 202 (targets: p99 < 20 ms); each figure is the median over five bursts, each
 *   against a freshly started server;
 * - delivery-to-spawn delay (request arrival to the member process spawned, from the journal),
 *   for the burst plus a series of single deliveries to idle members, against a bare `spawn()`
 *   of the same stub (target: p99 < 100 ms);
 * - the daemon's resident memory after the burst, against the bare server's (target < 120 MB),
 *   and the proportional memory (PSS: shared pages such as node's own code split between the
 *   processes that map them) of the daemon plus its launcher helper, the process that spawns
 *   member runs for it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import type { RecordFn } from './bench.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.cjs');
const DELIVERIES = 500;
const CONCURRENCY = 16;
const SERIES = 30;
const ROUNDS = 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function median(values: number[]): number {
  return percentile(values, 50);
}

export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

function pssMb(pid: number): number {
  const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** The pids whose parent is `pid`. */
function children(pid: number): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((name) => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LOAD_GENERATOR = path.join(ROOT, 'tasks', 'bench-load.mjs');

/** What the load generator sends: one body, the same headers, a fresh delivery id per request. */
interface Load { body: string; headers: Record<string, string> }

/**
 * Posts `count` copies of `load` to the server's /webhook over `CONCURRENCY` keep-alive
 * connections from the lean load generator (tasks/bench-load.mjs), its own code warmed first
 * unless `warmup` is 0; returns each request's latency (ms).
 */
async function blast(port: number, load: Load, count: number, warmup = 200): Promise<number[]> {
  const child = spawn(process.execPath, [LOAD_GENERATOR], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin?.end(JSON.stringify({ port, path: '/webhook', count, concurrency: CONCURRENCY, warmup, uniqueHeader: 'x-github-delivery', ...load }));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the load generator failed (exit ${code})`);
  return JSON.parse(output) as number[];
}

const BARE_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { Buffer.concat(chunks); res.writeHead(202, { 'content-type': 'application/json', 'content-length': 11 }); res.end('{"ok":true}'); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export async function bareServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { child, port };
}

/** Runs the section, recording each figure with `record`. */
export async function benchDaemon(record: RecordFn): Promise<void> {
  process.stderr.write(`daemon: ${DELIVERIES} signed deliveries over ${CONCURRENCY} connections, 3 members (stub ralph)\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-daemon-'));
  const bmHome = path.join(dir, 'bm-home');
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: bmHome, PATH: `${path.join(ROOT, 'test', 'support', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    BM_STOP_KILL_MS: '1000', BM_STUB_LOG: path.join(dir, 'stub.jsonl'), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
    GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost',
  };
  const bm = (extra: NodeJS.ProcessEnv, ...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env: { ...env, ...extra }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const journal = () => readFileSync(path.join(bmHome, 'daemon', 'bench', 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; delayMs?: number });
  try {
    writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n');
    bm({}, 'init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
    for (const role of ['dev', 'qe', 'reviewer']) bm({}, 'hire', role);
    bm({}, 'teams', 'sync');
    const secret = /webhook_secret: (\S+)/.exec(readFileSync(path.join(bmHome, 'config.yml'), 'utf8'))?.[1] ?? '';
    const body = JSON.stringify({ action: 'opened', issue: { number: 1, title: 'bench', body: 'x'.repeat(8000) }, repository: { full_name: 'bench/bench' } });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const load: Load = { body, headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-hub-signature-256': signature } };

    const startDaemon = (stubDelayMs: number) => {
      const started = /PID (\d+)\), listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bm({ STUB_RALPH_DELAY_MS: String(stubDelayMs) }, 'daemon', 'start', '--port', '0', '--max-runs-per-hour', '1000'));
      if (!started) throw new Error('the daemon did not start');
      return { pid: Number(started[1]), port: Number(started[2]) };
    };
    const status = () => JSON.parse(bm({}, 'daemon', 'status', '--json')) as { inProgress: number; events: number };
    const idle = async () => {
      for (let i = 0; i < 400 && status().inProgress > 0; i++) await sleep(25);
    };

    // Each round meets a fresh bare server and a fresh daemon with one burst. The members take a
    // while (as real runs do), so a burst meets one run plus one pending per member. Memory is
    // measured after the first burst.
    const bareRounds: number[][] = [];
    const daemonRounds: number[][] = [];
    let bareRss = 0;
    let barePss = 0;
    let rss = 0;
    let pss = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const bare = await bareServer();
      try {
        bareRounds.push(await blast(bare.port, load, DELIVERIES));
        if (round === 0) {
          bareRss = rssMb(bare.child.pid ?? 0);
          barePss = pssMb(bare.child.pid ?? 0);
        }
      } finally {
        bare.child.kill();
      }
      const burst = startDaemon(20_000);
      daemonRounds.push(await blast(burst.port, load, DELIVERIES));
      if (round === 0) {
        await sleep(200);
        rss = rssMb(burst.pid);
        // The launcher helper is the daemon's only child (runs are children of the helper).
        pss = [burst.pid, ...children(burst.pid)].reduce((sum, pid) => sum + pssMb(pid), 0);
      }
      bm({}, 'daemon', 'stop');
    }
    // Per round, then the median round: one unlucky moment on a shared machine does not decide it.
    const overRounds = (rounds: number[][], p: number) => median(rounds.map((latencies) => percentile(latencies, p)));
    // Single deliveries to idle members, each run over at once.
    const series = startDaemon(1);
    for (let i = 0; i < SERIES; i++) {
      await blast(series.port, load, 1, 0);
      await sleep(50);
      await idle();
    }
    bm({}, 'daemon', 'stop');
    const delays = journal().filter((e) => e.type === 'run.start' && typeof e.delayMs === 'number').map((e) => e.delayMs ?? 0);

    const spawnTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const began = performance.now();
      const child = spawn('ralph', ['--version'], { env, stdio: 'ignore' });
      spawnTimes.push(performance.now() - began);
      await new Promise((resolve) => child.on('exit', resolve));
    }
    const what = `(${DELIVERIES} deliveries, median of ${ROUNDS} bursts)`;
    record('daemon', `webhook ack p50 ${what}`, overRounds(daemonRounds, 50), 'bare http p50', overRounds(bareRounds, 50));
    record('daemon', `webhook ack p99 ${what}`, overRounds(daemonRounds, 99), 'bare http p99', overRounds(bareRounds, 99), '< 20 ms');
    const spawnP50 = percentile(spawnTimes, 50);
    record('daemon', `delivery to spawn p50 (${delays.length} runs)`, percentile(delays, 50), 'bare spawn()', spawnP50);
    record('daemon', `delivery to spawn p99 (${delays.length} runs)`, percentile(delays, 99), 'bare spawn()', spawnP50, '< 100 ms');
    record('daemon', 'daemon RSS after the burst (MB, not ms)', rss, 'bare server RSS', bareRss, '< 120 MB');
    record('daemon', 'daemon + launcher PSS after the burst (MB)', pss, 'bare server PSS', barePss, '< 120 MB');
  } finally {
    try {
      bm({}, 'daemon', 'stop');
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
