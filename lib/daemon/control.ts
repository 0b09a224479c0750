/**
 * `bm daemon start|stop|status` internals: launching the detached `bm daemon run`, waiting until
 * it is ready (or reporting why it died), stopping it with SIGTERM → SIGKILL, and describing it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { BmError } from '../output.ts';
import { BM_ROOT } from '../paths.ts';
import { isOurs, spawnDetached, terminate, timings, waitForExit } from '../proc.ts';
import { daemonPaths, EXIT_ALREADY_RUNNING, liveness, readRecord, removeRuntimeFiles, type DaemonMode, type DaemonRecord } from './files.ts';
import { reapOrphanRuns } from './scheduler.ts';

/** What `bm daemon start` was asked for. */
export interface StartRequest {
  team: string;
  mode: DaemonMode;
  port: number;
  bind: string;
  /** Poll interval in seconds (poll mode). */
  interval: number;
  tunnel?: string;
  /** Most member runs in progress at once. */
  maxRuns: number;
  /** Most runs per member in any hour. */
  maxRunsPerHour: number;
}

/** The argv that runs `bm` again with the current runtime: node + bm.cjs, or `deno run -A` + bm.mjs (Deno's launcher). */
export function bmCommand(args: readonly string[]): { command: string; args: string[] } {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
  return isDeno
    ? { command: process.execPath, args: ['run', '-A', '--no-prompt', path.join(BM_ROOT, 'scripts', 'bm.mjs'), ...args] }
    : { command: process.execPath, args: [path.join(BM_ROOT, 'scripts', 'bm.cjs'), ...args] };
}

/** Env knob: how long `bm daemon start` waits for the daemon to be ready (default 20 s). */
function readyTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_READY_MS);
  return Number.isFinite(value) && value > 0 ? value : 20_000;
}

/** Env knob: how long `bm daemon stop` waits after SIGTERM before SIGKILL (default 30 s). */
export function daemonStopMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_STOP_MS);
  return Number.isFinite(value) && value >= 0 ? value : 30_000;
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last ERROR line the daemon wrote after `offset`, without its timestamp. */
function lastError(file: string, offset: number): string | undefined {
  try {
    const size = statSync(file).size;
    const start = size >= offset ? offset : 0;
    const length = Math.min(size - start, 256 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    const errors = buffer.toString('utf8').split('\n').filter((l) => /^\[[^\]]*\] ERROR /.test(l) || l.startsWith('Error: '));
    return errors.at(-1)?.replace(/^\[[^\]]*\] ERROR |^Error: /, '');
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How `bm daemon start` hands the tunnel URL to `bm daemon run`. */
export const TUNNEL_ENV = 'BM_DAEMON_TUNNEL';

/**
 * Starts the team's daemon and waits until it listens (webhook) or polls. Throws when one is
 * already running, or when the new one dies during start-up (with the reason from its log).
 */
export async function startDaemon(request: StartRequest, progress: (line: string) => void): Promise<DaemonRecord> {
  const paths = daemonPaths(request.team);
  const live = liveness(paths);
  if (live.state === 'running') {
    throw new BmError(`Daemon already running for team '${request.team}' (PID ${live.pid})`, 'Stop it first with `bm daemon stop`, or see it with `bm daemon status`.');
  }
  if (live.state === 'stale') {
    removeRuntimeFiles(paths);
    progress(`Removed the stale daemon files of a daemon that is gone${live.pid ? ` (PID ${live.pid})` : ''}`);
  }
  const reaped = await reapOrphanRuns(request.team, timings().stopKillMs, progress);
  if (reaped > 0) progress(`Stopped ${reaped} member run(s) left behind by the previous daemon`);

  const args = ['daemon', 'run', '-t', request.team, '--mode', request.mode, '--port', String(request.port), '--bind', request.bind, '--interval', String(request.interval), '--max-runs', String(request.maxRuns), '--max-runs-per-hour', String(request.maxRunsPerHour)];
  const { command, args: argv } = bmCommand(args);
  const offset = logSize(paths.log);
  let exited: number | null | undefined;
  const launched = spawnDetached({
    command,
    args: argv,
    cwd: paths.dir,
    // The channel URL alone lets anyone read every payload: never on a command line, where
    // every local user sees it in `ps`; the environment is readable by this user only.
    // glibc: blocks of 64 KiB and up (socket reads) are mapped and unmapped on their own, so the
    // memory of a burst of big bodies goes back to the system instead of staying in the heap.
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '65536', ...(request.tunnel ? { [TUNNEL_ENV]: request.tunnel } : {}) },
    logFile: paths.log,
    banner: `--- ${new Date().toISOString()} bm daemon start: ${request.mode} mode`,
    onExit: (code) => {
      exited = code;
    },
  });
  const deadline = Date.now() + readyTimeoutMs();
  for (;;) {
    const record = readRecord(paths);
    if (record?.ready && record.pid === launched.pid && isOurs(launched.pid, launched.started)) return record;
    if (exited !== undefined || !isOurs(launched.pid, launched.started)) break;
    if (Date.now() > deadline) {
      await terminate(launched.pid, launched.started, 2000);
      removeRuntimeFiles(paths);
      throw new BmError(`The daemon did not become ready within ${Math.round(readyTimeoutMs() / 1000)}s`, `See ${paths.log}.`);
    }
    await sleep(25);
  }
  // The process can be gone a moment before its exit event (and code) arrives.
  for (let i = 0; i < 40 && exited === undefined; i++) await sleep(25);
  if (exited === EXIT_ALREADY_RUNNING) {
    const other = liveness(paths);
    throw new BmError(`Daemon already running for team '${request.team}'${other.state === 'running' ? ` (PID ${other.pid})` : ''}`, 'Another `bm daemon start` won the race; see `bm daemon status`.');
  }
  const why = lastError(paths.log, offset) ?? `it exited with code ${exited ?? 'unknown'}`;
  throw new BmError(`The daemon failed to start: ${why}`, `See ${paths.log} for details.`);
}

/** How `stopDaemon` ended. */
export interface StopOutcome {
  pid: number;
  how: 'terminated' | 'killed' | 'already-gone';
}

/** Stops the team's daemon: SIGTERM, then SIGKILL after `daemonStopMs()`; cleans up after a kill. */
export async function stopDaemon(team: string, progress: (line: string) => void): Promise<StopOutcome> {
  const paths = daemonPaths(team);
  const live = liveness(paths);
  if (live.state !== 'running') {
    if (live.state === 'stale') {
      removeRuntimeFiles(paths);
      await reapOrphanRuns(team, timings().stopKillMs, progress);
      progress(`Removed the stale files of a daemon that is gone${live.pid ? ` (PID ${live.pid})` : ''}`);
    }
    throw new BmError(`Daemon not running for team '${team}'`, 'Start it with `bm daemon start`.');
  }
  progress(`Stopping daemon (PID ${live.pid})...`);
  const ended = await terminate(live.pid, live.started, daemonStopMs());
  if (ended === 'survived') throw new BmError(`Daemon (PID ${live.pid}) survived SIGKILL`, 'Check `ps -p <pid>`; it may be stuck in the kernel.');
  await waitForExit(live.pid, live.started, 2000);
  // After SIGKILL the daemon could not stop its runs or remove its files: do it here.
  await reapOrphanRuns(team, timings().stopKillMs, progress);
  removeRuntimeFiles(paths);
  return { pid: live.pid, how: ended === 'killed' ? 'killed' : ended === 'not-running' ? 'already-gone' : 'terminated' };
}

