/**
 * Member processes: spawn detached in their own process group, tell "ours" from a reused pid,
 * and stop a group with SIGTERM → SIGKILL escalation.
 *
 * A pid alone is not an identity: the kernel hands freed pids to new processes. Every process bm
 * launches is recorded with its pid AND its start time (`started`), and bm only ever signals a
 * pid whose current start time still matches. On Linux the start time is field 22 of
 * /proc/<pid>/stat (clock ticks since boot) tagged with the boot id, so it also survives reboots;
 * elsewhere it is `ps -o lstart=`. A zombie counts as dead.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync, chmodSync } from 'node:fs';
import { rotateIfOver } from './files.ts';
import path from 'node:path';

/**
 * node:child_process, loaded on first use: the liveness checks that `bm status` and
 * `bm members list` make read /proc and send signals, and should not pay for it.
 */
function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

/** What bm knows about a live process. */
export interface ProcInfo {
  /** Opaque start-time token: equal tokens mean the same process. */
  started: string;
  zombie: boolean;
  pgid: number;
}

const HAS_PROC = existsSync('/proc/self/stat');
let bootId: string | undefined;

function linuxBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    } catch {
      bootId = 'boot';
    }
  }
  return bootId;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so cut at the last `)`. */
function linuxInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
  return { started: `${fields[19]}@${linuxBootId()}`, zombie: fields[0] === 'Z' || fields[0] === 'X', pgid: Number(fields[2]) };
}

function psInfo(pid: number): ProcInfo | undefined {
  try {
    const line = childProcess().execFileSync('ps', ['-o', 'stat=,pgid=,lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const match = /^(\S+)\s+(\d+)\s+(.+)$/.exec(line);
    if (!match) return undefined;
    return { started: match[3].replace(/\s+/g, ' '), zombie: match[1].startsWith('Z'), pgid: Number(match[2]) };
  } catch {
    return undefined;
  }
}

/** The start time, state and group of `pid`, or undefined when no such process exists. */
export function procInfo(pid: number): ProcInfo | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return HAS_PROC ? linuxInfo(pid) : psInfo(pid);
}

/** The start-time token of a live process (empty when it is already gone). */
export function startTimeOf(pid: number): string {
  const info = procInfo(pid);
  return info && !info.zombie ? info.started : '';
}

/**
 * True when `pid` is alive and is the very process recorded with start-time token `started`.
 * An unknown start time never matches: bm will not act on a process it cannot identify.
 */
export function isOurs(pid: number, started: string | undefined): boolean {
  if (!started) return false;
  const info = procInfo(pid);
  return info !== undefined && !info.zombie && info.started === started;
}

/** How a command run by `run` ended: its exit code (null when it was killed or timed out) and output. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` with `args` (no shell: each argument reaches it as it is) and collects its
 * output; resolves however it ends, and rejects only when it cannot be started at all.
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const settings = { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' as const };
    childProcess().execFile(command, [...args], settings, (error, stdout, stderr) => {
      if (error && typeof error.code === 'string') return reject(error);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** Looks `name` up on `PATH` now (never cached), like `which`. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here: keep looking.
    }
  }
  return undefined;
}

/** What `spawnDetached` needs. */
export interface DetachedSpec {
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (created 0600 in a 0700 directory). */
  logFile: string;
  /** A line written to the log before the process starts. */
  banner?: string;
  /** Called when the process exits, while this process is still alive to see it (the daemon). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A launched process: its pid and start-time token. */
export interface Launched {
  pid: number;
  started: string;
}

/**
 * Opens a member's log for appending (0600 in a 0700 directory, rotated when too big) and writes
 * `banner` first; returns the file descriptor.
 */
export function openLog(logFile: string, banner?: string): number {
  mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  rotateIfOver(logFile);
  const fd = openSync(logFile, 'a', 0o600);
  try {
    chmodSync(logFile, 0o600);
    if (banner) writeSync(fd, `${banner}\n`);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Starts a process that outlives bm: its own session and process group (so the whole group can
 * be signalled), stdin closed, stdout and stderr appended to the log file.
 */
export function spawnDetached(spec: DetachedSpec): Launched {
  const fd = openLog(spec.logFile, spec.banner);
  try {
    const child = childProcess().spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    // A spawn failure arrives as an event; without a listener it would crash bm.
    child.on('error', () => undefined);
    if (spec.onExit) child.on('exit', spec.onExit);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    return { pid: child.pid, started: startTimeOf(child.pid) };
  } finally {
    closeSync(fd);
  }
}

/** Sends `signal` to the process group led by `pid`, or to `pid` alone when it leads no group. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the recorded process is gone; true if it went within `timeoutMs`. */
export async function waitForExit(pid: number, started: string, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isOurs(pid, started)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/** How a terminated process ended. */
export type Termination = 'not-running' | 'terminated' | 'killed' | 'survived';

/**
 * Ends the recorded process and its group: SIGTERM, then SIGKILL after `killAfterMs`. Never
 * signals a pid whose start time does not match. What the leader leaves behind in its group
 * is ended the same way (`endGroup`).
 */
export async function terminate(pid: number, started: string, killAfterMs: number): Promise<Termination> {
  if (!isOurs(pid, started)) return 'not-running';
  signalGroup(pid, 'SIGTERM');
  let outcome: Termination = 'terminated';
  if (!(await waitForExit(pid, started, killAfterMs))) {
    if (isOurs(pid, started)) signalGroup(pid, 'SIGKILL');
    outcome = 'killed';
    if (!(await waitForExit(pid, started, 2000))) return 'survived';
  }
  return (await endGroup(pid, started, killAfterMs)) === 'survived' ? 'survived' : outcome;
}

function ticks(started: string): { at: number; boot: string } | undefined {
  const [at, boot] = started.split('@');
  return boot === undefined || !/^\d+$/.test(at) ? undefined : { at: Number(at), boot };
}

/** True when `info` started no earlier than the process with token `leader` (same boot). */
function startedAfter(info: ProcInfo, leader: string): boolean {
  const a = ticks(info.started);
  const b = ticks(leader);
  return a !== undefined && b !== undefined && a.boot === b.boot && a.at >= b.at;
}

/** Every pid in /proc but bm's own (Linux). */
export function allPids(): number[] {
  if (!HAS_PROC) return [];
  try {
    return readdirSync('/proc').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * The pids of `allPids` that run as bm's user (all of them for root): the processes whose
 * working directory and environment bm can read, and the only ones it could signal. Asking the
 * others fails, and each failure is an exception: for a user among a few hundred system
 * processes, the scan took ten times longer.
 */
export function ownPids(): number[] {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return allPids();
  return allPids().filter((pid) => statSync(`/proc/${pid}`, { throwIfNoEntry: false })?.uid === uid);
}

/** True when some process is in group `pgid` (signal 0 tests without sending): no scan needed when not. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The live processes left in the group of the recorded leader `pgid`, the leader excluded
 * (Linux only). Group reuse is guarded like pid reuse: while any process is in group N the kernel
 * cannot hand N out again, so a group whose leader's number now belongs to another process is
 * not ours, and only processes started after the leader count.
 */
export function groupLeftovers(pgid: number, leaderStarted: string): { pid: number; started: string }[] {
  if (!leaderStarted || !groupExists(pgid)) return [];
  const leader = procInfo(pgid);
  if (leader && leader.started !== leaderStarted) return [];
  const found: { pid: number; started: string }[] = [];
  for (const pid of allPids()) {
    if (pid === pgid) continue;
    const info = procInfo(pid);
    if (info && info.pgid === pgid && !info.zombie && startedAfter(info, leaderStarted)) found.push({ pid, started: info.started });
  }
  return found;
}

async function waitUntilEmpty(list: () => unknown[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (list().length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

/** How ending a set of processes went (`none`: there was nothing to end). */
export type Ended = 'none' | 'terminated' | 'killed' | 'survived';

/**
 * Ends what is left in the group of the dead (or ending) leader `pgid`: SIGTERM to the group,
 * then SIGKILL after `graceMs` to whatever is still in it.
 */
export async function endGroup(pgid: number, leaderStarted: string, graceMs: number): Promise<Ended> {
  const left = () => groupLeftovers(pgid, leaderStarted);
  if (left().length === 0) return 'none';
  signalGroup(pgid, 'SIGTERM');
  if (await waitUntilEmpty(left, graceMs)) return 'terminated';
  if (left().length > 0) signalGroup(pgid, 'SIGKILL');
  return (await waitUntilEmpty(left, 2000)) ? 'killed' : 'survived';
}

/** Ends the given processes one by one, each checked against its start time: SIGTERM, then SIGKILL. */
export async function endProcesses(targets: readonly { pid: number; started: string }[], graceMs: number): Promise<Ended> {
  const left = () => targets.filter((p) => isOurs(p.pid, p.started));
  const send = (signal: NodeJS.Signals) => {
    for (const p of left()) {
      try {
        process.kill(p.pid, signal);
      } catch {
        // Gone meanwhile.
      }
    }
  };
  if (left().length === 0) return 'none';
  send('SIGTERM');
  if (await waitUntilEmpty(left, graceMs)) return 'terminated';
  send('SIGKILL');
  return (await waitUntilEmpty(left, 2000)) ? 'killed' : 'survived';
}

/**
 * Keeps a child bm waits for (a formation manager, a headless session), spawned `detached` into a
 * process group of its own, under bm's control: the stop signals bm receives are passed on to the
 * group while it runs, and the returned function, called once the child has exited, ends what it
 * left in the group.
 */
export function superviseGroup(pid: number | undefined): () => Promise<void> {
  if (pid === undefined) return async () => undefined;
  const started = startTimeOf(pid);
  const forward = (signal: NodeJS.Signals) => signalGroup(pid, signal);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, forward);
  return async () => {
    for (const signal of signals) process.off(signal, forward);
    await endGroup(pid, started, timings().stopKillMs);
  };
}

/** Supervision timings; every one can be shortened through the environment (tests, benchmarks). */
export interface Timings {
  /** Liveness window after launching members (BM_START_CHECK_MS, default 2 s). */
  startCheckMs: number;
  /** Wait for a graceful `ralph loops stop` (BM_STOP_GRACE_MS, default 60 s). */
  stopGraceMs: number;
  /** Wait between SIGTERM and SIGKILL (BM_STOP_KILL_MS, default 5 s). */
  stopKillMs: number;
}

function msFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Reads the timings from the environment. */
export function timings(env: NodeJS.ProcessEnv = process.env): Timings {
  return {
    startCheckMs: msFrom(env, 'BM_START_CHECK_MS', 2000),
    stopGraceMs: msFrom(env, 'BM_STOP_GRACE_MS', 60_000),
    stopKillMs: msFrom(env, 'BM_STOP_KILL_MS', 5000),
  };
}
