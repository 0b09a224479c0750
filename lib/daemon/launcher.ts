/**
 * Member runs are launched by a helper process, `bm daemon launcher`, that the daemon starts next
 * to itself.
 *
 * Launching blocks: `spawn()` waits until the child has called exec (longer when the CPUs are
 * busy), and recording the run in state.json fsyncs twice under the state lock. In the daemon
 * those waits would hold up every webhook answer queued behind them, and a burst of deliveries
 * is exactly when members are launched. The helper does the whole transaction (check, spawn,
 * lower the run's CPU priority, record), removes the record when the run exits, and reports
 * both; the daemon only writes requests to a pipe and reads the answers.
 *
 * Protocol, one JSON object per line. Daemon → helper: a LaunchRequest. Helper → daemon:
 * `{kind: 'ready'}` once, then a LaunchOutcome per request (same id, in order) and an ExitNotice
 * per run that ends. The helper ignores stop signals (they reach it with the daemon's process
 * group) and exits when its stdin closes: the daemon stops its runs first, then lets it go. Runs
 * are detached, so when the daemon dies they outlive both and the next start reaps them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { schema, type Infer } from '../zod.ts';
import { endGroup, endProcesses, isOurs, spawnDetached, timings } from '../proc.ts';
import { stateKey, updateState, type State } from '../state.ts';
import { memberMarker, memberProcessesUnder } from '../tree.ts';
import type { Logger } from './log.ts';

const requestSchema = schema((z) => z.object({
  id: z.number(),
  team: z.string(),
  key: z.string(),
  member: z.string(),
  project: z.nullable(z.string()),
  workspace: z.string(),
  log: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  banner: z.string(),
  /** CPU priority of the run (0 to 19, higher is lower). */
  nice: z.number(),
}));

/** One member run to launch. */
export type LaunchRequest = Infer<typeof requestSchema>;

/** What came of a LaunchRequest. */
export type LaunchOutcome =
  | { id: number; kind: 'started'; pid: number; started: string }
  | { id: number; kind: 'busy'; pid: number; started: string; byDaemon: boolean }
  | { id: number; kind: 'error'; message: string };

/** A run that ended (its state entry is already removed). */
export interface ExitNotice {
  kind: 'exit';
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

// --- The helper ---------------------------------------------------------------------------------

/**
 * Gives a run the CPU priority `nice`. A detached run leads its own session, and Linux's
 * autogroup scheduler shares the CPUs between sessions before it looks at nice values; so the
 * session's autogroup gets the same value. Without it, three runs starting up take two thirds of
 * a two-core machine from the daemon, and webhook answers wait.
 */
function lowerPriority(pid: number, nice: number): void {
  try {
    os.setPriority(pid, nice);
  } catch {
    // Already exited, or the platform refuses: the run keeps the daemon's priority.
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // Not Linux, autogroup disabled, or the run already exited: nice alone applies.
  }
}

/**
 * Checks, spawns and records runs in one state transaction, as `bm start` does: one lock and
 * one (fsynced) write for all the members a wake-up launches together. Each outcome is
 * answered as soon as it is known: the daemon learns of a run when it is spawned, not after
 * the write (whose fsync can take long on a busy disk) of the whole batch.
 */
function launchAll(requests: LaunchRequest[], answer: (outcome: LaunchOutcome) => void, exited: (notice: ExitNotice) => void): void {
  updateState((st) => {
    for (const request of requests) answer(launchInto(st, request, exited));
  });
}

/** One launch inside the state transaction `st`. */
function launchInto(st: State, request: LaunchRequest, exited: (notice: ExitNotice) => void): LaunchOutcome {
  const { id } = request;
  const key = stateKey(request.team, request.key);
  const existing = st.members[key];
  const busy = existing && isOurs(existing.pid, existing.started)
    ? existing
    : Object.values(st.members).find((e) => e.workspace === request.workspace && isOurs(e.pid, e.started));
  if (busy) return { id, kind: 'busy', pid: busy.pid, started: busy.started, byDaemon: busy.by === 'daemon' };
  try {
    const launched = spawnDetached({
      command: request.command,
      args: request.args,
      cwd: request.workspace,
      env: { ...process.env, ...memberMarker(request.team, request.key) },
      logFile: request.log,
      banner: request.banner,
      onExit: (code, signal) => {
        void endLeftovers(request, launched).then(() => {
          updateState((after) => {
            if (after.members[key]?.pid === launched.pid) delete after.members[key];
          });
          exited({ kind: 'exit', pid: launched.pid, code, signal });
        });
      },
    });
    if (request.nice > 0) lowerPriority(launched.pid, request.nice);
    st.members[key] = {
      team: request.team, member: request.member, project: request.project, pid: launched.pid, started: launched.started,
      started_at: new Date().toISOString(), workspace: request.workspace, log: request.log, by: 'daemon',
    };
    return { id, kind: 'started', pid: launched.pid, started: launched.started };
  } catch (error) {
    return { id, kind: 'error', message: (error as Error).message };
  }
}

/**
 * A run is over when its lead process exits: what it left behind, in its group or (escaped from
 * it) still working in its workspace, is ended before the run counts as finished.
 */
async function endLeftovers(request: LaunchRequest, run: { pid: number; started: string }): Promise<void> {
  const graceMs = timings().stopKillMs;
  await endGroup(run.pid, run.started, graceMs);
  const escaped = memberProcessesUnder(request.workspace, request.team).filter((p) => p.key === request.key);
  await endProcesses(escaped, graceMs);
}

/** `bm daemon launcher`: serves launch requests on stdin until it closes. */
export async function runLauncher(): Promise<number> {
  // The daemon's process group gets its stop signals; the daemon tells the helper when to go.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
  // Requests that arrive together (one wake-up of several members) are launched together.
  let batch: LaunchRequest[] = [];
  const launchBatch = () => {
    const requests = batch;
    batch = [];
    launchAll(requests, send, send);
  };
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    try {
      const parsed = requestSchema().safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error('not a launch request');
      if (batch.length === 0) setImmediate(launchBatch);
      batch.push(parsed.data);
    } catch (error) {
      process.stderr.write(`bm daemon launcher: ignored a malformed request (${(error as Error).message})\n`);
    }
  });
  send({ kind: 'ready' });
  await new Promise((resolve) => lines.once('close', resolve));
  return 0;
}

// --- The daemon's side --------------------------------------------------------------------------

/** How a run ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Watched {
  started: string;
  done(exit: ExitInfo): void;
}

/** Options of the Launcher. */
export interface LauncherOptions {
  /** The argv that runs `bm daemon launcher`. */
  command: { command: string; args: string[] };
  /** The helper's environment, which every run inherits (tokens included: never in argv). */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** How long the helper may take to start (default 20 s). */
  readyTimeoutMs?: number;
}

/** How often runs are checked for life while their exits cannot be heard (the helper died). */
const ORPHAN_POLL_MS = 500;
/** A helper that answers no launch within this long is stuck: it is killed and replaced. */
const LAUNCH_TIMEOUT_MS = 60_000;

/** The daemon's handle on its launcher helper; restarts it when it dies. */
export class Launcher {
  readonly #o: LauncherOptions;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #closing = false;
  #nextId = 1;
  readonly #answers = new Map<number, (outcome: LaunchOutcome) => void>();
  readonly #watched = new Map<number, Watched>();
  /** Exit notices that arrived before the daemon registered the run (same chunk as the outcome). */
  readonly #early = new Map<number, ExitInfo>();

  constructor(options: LauncherOptions) {
    this.#o = options;
  }

  /** Starts the helper (if it is not running) and resolves once it is ready. */
  start(): Promise<void> {
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  /** The helper's pid, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #spawn(): Promise<void> {
    const { command, env } = this.#o;
    const child = spawn(command.command, command.args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child = child;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the launcher helper did not start within ${Math.round((this.#o.readyTimeoutMs ?? 20_000) / 1000)}s`));
      }, this.#o.readyTimeoutMs ?? 20_000);
      child.stdin?.on('error', () => undefined);
      child.on('error', (error) => {
        clearTimeout(timer);
        if (!ready) reject(error);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let message: { kind?: unknown; id?: unknown; pid?: unknown };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return;
        }
        if (message.kind === 'ready' && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (message.kind === 'exit') {
          this.#exited(message as ExitNotice);
        } else if (typeof message.id === 'number') {
          const answer = this.#answers.get(message.id);
          this.#answers.delete(message.id);
          answer?.(message as LaunchOutcome);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.#child === child) {
          this.#child = undefined;
          this.#ready = undefined;
        }
        if (!ready) reject(new Error(`the launcher helper exited during start-up (${signal ?? `code ${code}`})`));
        if (!this.#closing) this.#lost(signal ?? `code ${code}`);
      });
    });
  }

  /** The helper died: fail the launches it owed, and watch its runs by polling their pids. */
  #lost(how: string): void {
    this.#o.log.error(`the launcher helper exited unexpectedly (${how}); it is restarted at the next launch`);
    for (const [id, answer] of this.#answers) answer({ id, kind: 'error', message: 'the launcher helper exited' });
    this.#answers.clear();
    const timer = setInterval(() => {
      for (const [pid, watched] of this.#watched) {
        if (isOurs(pid, watched.started)) continue;
        // Nobody else will remove its record now.
        updateState((st) => {
          for (const [key, entry] of Object.entries(st.members)) if (entry.pid === pid && entry.started === watched.started) delete st.members[key];
        });
        this.#exited({ kind: 'exit', pid, code: null, signal: null });
      }
      if (this.#watched.size === 0) clearInterval(timer);
    }, ORPHAN_POLL_MS);
  }

  #exited(notice: ExitNotice): void {
    const watched = this.#watched.get(notice.pid);
    const info = { code: notice.code, signal: notice.signal };
    if (!watched) {
      this.#early.set(notice.pid, info);
      return;
    }
    this.#watched.delete(notice.pid);
    watched.done(info);
  }

  /** Launches one run (starting the helper again if it died). */
  async launch(request: Omit<LaunchRequest, 'id'>): Promise<LaunchOutcome> {
    const id = this.#nextId++;
    try {
      await this.start();
    } catch (error) {
      this.#ready = undefined;
      return { id, kind: 'error', message: (error as Error).message };
    }
    const child = this.#child;
    if (!child?.stdin?.writable) return { id, kind: 'error', message: 'the launcher helper is not running' };
    return new Promise<LaunchOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.#o.log.error(`the launcher helper did not answer a launch within ${LAUNCH_TIMEOUT_MS / 1000}s; replacing it`);
        child.kill('SIGKILL');
      }, LAUNCH_TIMEOUT_MS);
      this.#answers.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      child.stdin?.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** Calls `done` when the run `pid` exits. */
  watch(pid: number, started: string, done: (exit: ExitInfo) => void): void {
    const early = this.#early.get(pid);
    if (early) {
      this.#early.delete(pid);
      done(early);
      return;
    }
    this.#watched.set(pid, { started, done });
  }

  /** Lets the helper go (after the daemon stopped its runs) and waits briefly for it to exit. */
  async close(): Promise<void> {
    this.#closing = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }
}
