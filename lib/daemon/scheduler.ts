/**
 * One-shot member runs: per-member coalescing, a cap on concurrent runs, and backoff for members
 * whose runs keep failing.
 *
 * Coalescing: every wake-up asks each member workspace (slot) for one run. A slot has at most
 * one run in progress and one pending: a wake-up while a run is in progress (or while the slot
 * already waits to start) only marks it pending, and when the run ends one more run starts. So
 * a burst of 100 events causes at most two runs per member, and the second one sees everything
 * the burst changed. Slots run in parallel.
 *
 * Cap: at most `maxRuns` runs at once. Slots with pending work wait in a first-in first-out
 * queue, each at most once, so waiting work stays coalesced; they start as runs end.
 *
 * Budget and idle members (budget.ts): at most so many runs per member per hour, the rest
 * coalesced into one run when the window allows; and a member whose runs keep doing no work is
 * not woken again by the events its own runs cause.
 *
 * Backoff: a run that fails quickly (exit code not 0 within `quickFailMs`) looks like a crash
 * loop, so the slot's next run waits `baseMs * 2^(failures-1)` (capped at `maxMs`, up to 20%
 * shorter at random so members failing together do not retry together). The failed run's work
 * is retried automatically up to `retries` times; after that the member is shown as failing and
 * only a new event starts it again (still after the wait). A successful run resets it.
 *
 * Responsiveness: runs are launched by a helper process (launcher.ts), after the webhook answers
 * already waiting, and run at a lower CPU priority (`nice`), so the daemon keeps answering
 * GitHub quickly while a burst launches members and while agents work.
 *
 * A run is `ralph run -c ralph.oneshot.yml -P PROMPT.md` in the workspace: the workspace's
 * ralph.yml with `event_loop.persistent: false`, so ralph scans all available work, processes
 * it and exits. Runs are recorded in state.json (pid + start time, `by: daemon`) under the
 * state lock, exactly where `bm start` records its members, so the two never run two ralphs in
 * one workspace: a member `bm start` already runs is skipped, and `bm start` skips a member
 * the daemon is running.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { readAgentFile, writeFileAtomic } from '../files.ts';
import type { Slot } from '../lifecycle/slots.ts';
import { isOurs, terminate, which } from '../proc.ts';
import { updateState, type StateEntry } from '../state.ts';
import { yaml } from '../yaml.ts';
import { readHolds, stoppedAt } from './holds.ts';
import { IDLE_LIMIT, workMarks, type RunBudget, type WorkTracker } from './budget.ts';
import type { Journal } from './journal.ts';
import type { ExitInfo, Launcher } from './launcher.ts';
import type { Logger } from './log.ts';

/** The one-shot config bm writes next to the workspace's persistent ralph.yml. */
export const ONESHOT_CONFIG = 'ralph.oneshot.yml';
/** The argv of a one-shot run. */
export const ONESHOT_ARGS = ['run', '-c', ONESHOT_CONFIG, '-P', 'PROMPT.md'] as const;

/** Why the team was woken: shown in logs and the journal. */
export interface WakeReason {
  /** e.g. `issues opened`, `poll: 3 events`. */
  what: string;
  /** `performance.now()` of the delivery, to measure delivery-to-spawn delay. */
  at: number;
  delivery?: string;
  /** Caused by the team's own identity (only hand-offs get this far: events.ts SELF_RULES). */
  self?: boolean;
  /**
   * Set when the run's start waited on purpose (for the previous run of the member, a free run
   * slot, or a backoff): its delay is then not the daemon's latency.
   */
  waited?: 'previous run' | 'run cap' | 'backoff' | 'budget';
  /** Only these members (the operator answered one of them); every member when absent. */
  members?: readonly string[];
  /**
   * When the work arrived (epoch ms), when earlier than now (left unfinished by an earlier
   * daemon): an operator's stop after it still holds the member (lib/daemon/holds.ts).
   */
  arrived?: number;
}

/** When a member's failing runs are retried. */
export interface BackoffPolicy {
  /** A run that exits with a non-zero code sooner than this counts as a failure. */
  quickFailMs: number;
  /** The wait after the first failure; it doubles with each further failure in a row. */
  baseMs: number;
  maxMs: number;
  /** Automatic retries of a failed run's work before waiting for a new event. */
  retries: number;
}

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== '' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** The backoff policy; each figure can be changed through the environment (tests). */
export function backoffPolicy(env: NodeJS.ProcessEnv = process.env): BackoffPolicy {
  return {
    quickFailMs: envMs(env, 'BM_DAEMON_QUICK_FAIL_MS', 60_000),
    baseMs: envMs(env, 'BM_DAEMON_BACKOFF_MS', 10_000),
    maxMs: envMs(env, 'BM_DAEMON_BACKOFF_MAX_MS', 15 * 60_000),
    retries: 5,
  };
}

/**
 * Env knob: the `nice` value of member runs (default 19, the lowest priority; 0 keeps the
 * daemon's). Agents mostly wait on their model's API, so they lose little; the daemon, which
 * must answer GitHub within its deadline while a burst starts node processes, gains most.
 */
export function runNice(env: NodeJS.ProcessEnv = process.env): number {
  return Math.min(19, Math.round(envMs(env, 'BM_DAEMON_RUN_NICE', 19)));
}

/** Options of the scheduler. */
export interface SchedulerOptions {
  team: string;
  /** The team's member workspaces, read afresh at each wake-up (members may be hired meanwhile). */
  slots(): Slot[];
  /** The runs' environment (to find ralph on its PATH). */
  env: NodeJS.ProcessEnv;
  launcher: Launcher;
  /** A run still going after this long is stopped. */
  runTimeoutMs: number;
  /** SIGTERM → SIGKILL grace when stopping a run. */
  killAfterMs: number;
  /** Most runs in progress at once. */
  maxRuns: number;
  backoff: BackoffPolicy;
  /** Runs per member per hour. */
  budget: RunBudget;
  /** Which runs did work; members whose runs do none are not woken by their own events. */
  work: WorkTracker;
  /** CPU priority of runs (0 to 19, higher is lower). */
  nice: number;
  journal: Journal;
  log: Logger;
  /** Called whenever a counter changes. */
  changed(): void;
  /** Why the team's members may not run here now (they are deployed on another formation), if so. */
  elsewhere?(): string | undefined;
}

/** A member that is backing off after failed runs (`bm daemon status`). */
export interface Backoff {
  member: string;
  /** Failed runs in a row. */
  failures: number;
  /** No run before this time. */
  until: string;
  /** False once the automatic retries are used up: only a new event starts it again. */
  retrying: boolean;
}

interface Running {
  pid: number;
  started: string;
  since: number;
  timer: NodeJS.Timeout;
  ended: Promise<ExitInfo>;
  timedOut: boolean;
  /** The workspace's commits when the run started (workMarks), to tell whether it did work. */
  marks: Promise<string>;
}

interface SlotState {
  slot: Slot;
  running?: Running;
  /** Between the launch request and its outcome. */
  launching?: Promise<void>;
  /** Work waiting for a run: the oldest wake-up no started run has answered yet. */
  pending?: WakeReason;
  /** In the launch queue. */
  queued: boolean;
  /** Quick failures in a row. */
  failures: number;
  /** No run before this time (epoch ms). */
  notBefore: number;
  retryTimer?: NodeJS.Timeout;
  skippedWarned?: boolean;
  /** The process (`bm start`'s, or a run of an earlier daemon) found running in the workspace. */
  busyWith?: { pid: number; started: string };
  /** Pending work is held back by the run budget (reported once per hold). */
  capped?: boolean;
}

/** The ralph.yml each one-shot config was made from (size and mtime), to skip unchanged ones. */
const madeFrom = new Map<string, string>();

/**
 * Writes `ralph.oneshot.yml`: the workspace's ralph.yml with `event_loop.persistent: false`.
 * The member's agent can put anything at ralph.yml (a FIFO, a link to /dev/zero): it is read
 * only as a bounded regular file, never through a symlink, so the daemon's loop cannot stall.
 */
export function writeOneShotConfig(workspace: string): string {
  const source = path.join(workspace, 'ralph.yml');
  const target = path.join(workspace, ONESHOT_CONFIG);
  const st = lstatSync(source);
  const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  if (st.isFile() && madeFrom.get(target) === stamp && lstatSync(target, { throwIfNoEntry: false })?.isFile()) return target;
  const doc = yaml().parseDocument(readAgentFile(source) ?? '');
  doc.setIn(['event_loop', 'persistent'], false);
  const text = `# Written by the bm daemon for one-shot runs; edit ralph.yml instead.\n${doc.toString({ lineWidth: 0 })}`;
  // Unchanged most of the time: skipping the write keeps a launch free of fsyncs.
  if (lstatSync(target, { throwIfNoEntry: false })?.isFile() !== true || readAgentFile(target) !== text) writeFileAtomic(target, text, 0o644, { within: workspace });
  madeFrom.set(target, stamp);
  return target;
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;

/** Runs members one-shot, coalescing wake-ups per member. */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #slots = new Map<string, SlotState>();
  /** Slots waiting to launch, oldest first. */
  readonly #queue: SlotState[] = [];
  #pumping = false;
  #stopping = false;
  /** Runs started since the daemon started. */
  launches = 0;
  /** When new work last arrived for each slot (epoch ms): an operator stop after it holds the slot. */
  readonly wokenAt = new Map<string, number>();

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Runs in progress (and being launched). */
  get inProgress(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.running || s.launching) n++;
    return n;
  }

  /** Members with work waiting for a run (behind a run, the cap or a backoff). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.pending) n++;
    return n;
  }

  /** True while runs are in progress or work is waiting: stopping now leaves work undone. */
  get busy(): boolean {
    return this.inProgress > 0 || this.waiting > 0;
  }

  /** Members backing off after failed runs. */
  backoffs(): Backoff[] {
    const { retries } = this.#o.backoff;
    return [...this.#slots.values()]
      .filter((s) => s.failures > 0)
      .map((s) => ({ member: s.slot.key, failures: s.failures, until: new Date(s.notBefore).toISOString(), retrying: s.failures <= retries }));
  }

  /**
   * Reads the team and writes each workspace's one-shot config ahead of the first event, so
   * the first wake-up only has to record and spawn.
   */
  warm(): void {
    try {
      for (const slot of this.#o.slots()) if (slot.provisioned) writeOneShotConfig(slot.workspace);
    } catch (error) {
      this.#o.log.warn(`could not prepare the one-shot configs yet: ${(error as Error).message}`);
    }
  }

  /** Asks every member (or the reason's `members`) for one run. */
  wake(reason: WakeReason): void {
    if (this.#stopping) return;
    let slots: Slot[];
    try {
      slots = this.#o.slots();
    } catch (error) {
      this.#o.log.error(`cannot read the team's members: ${(error as Error).message}`);
      return;
    }
    for (const slot of slots) {
      if (reason.members && !reason.members.includes(slot.member)) continue;
      this.wokenAt.set(slot.key, Math.max(this.wokenAt.get(slot.key) ?? 0, reason.arrived ?? Date.now()));
      const state = this.#slots.get(slot.key) ?? { slot, queued: false, failures: 0, notBefore: 0 };
      state.slot = slot;
      this.#slots.set(slot.key, state);
      if (reason.self && this.#o.work.ignoresOwn(slot.key, Boolean(state.running || state.launching))) {
        this.#o.journal.add({ type: 'run.skip', member: slot.key, why: `its own event: its last ${IDLE_LIMIT}+ runs did no work`, reason: reason.what });
        continue;
      }
      // Keep the oldest reason: it is the first event the next run answers. It is the team's
      // own only while every event behind it is.
      if (state.pending && !reason.self) state.pending.self = false;
      state.pending ??= state.running || state.launching ? { ...reason, waited: 'previous run' } : { ...reason };
      this.#enqueue(state);
    }
    this.#pump();
    this.#o.changed();
  }

  /** Queues a slot that has pending work and may start now; arms the retry timer of one backing off. */
  #enqueue(state: SlotState): void {
    if (this.#stopping || state.running || state.launching || state.queued || !state.pending) return;
    const budgetFree = this.#o.budget.freeAt(state.slot.key);
    const wait = Math.max(state.notBefore, budgetFree) - Date.now();
    if (wait > 0) {
      const overBudget = budgetFree > state.notBefore;
      state.pending.waited ??= overBudget ? 'budget' : 'backoff';
      if (overBudget && !state.capped) {
        state.capped = true;
        const at = new Date(budgetFree).toISOString();
        this.#o.log.info(`${state.slot.key}: ${this.#o.budget.maxRuns} runs within the budget window already; the next one runs at ${at}, for everything that arrives until then`);
        this.#o.journal.add({ type: 'run.budget', member: state.slot.key, until: at });
        this.#o.changed();
      }
      state.retryTimer ??= setTimeout(() => {
        state.retryTimer = undefined;
        this.#enqueue(state);
        this.#pump();
      }, wait);
      return;
    }
    state.queued = true;
    this.#queue.push(state);
  }

  /**
   * Launches queued slots while the cap allows, in a later turn of the event loop: the webhook
   * answers already waiting go out first.
   */
  #pump(): void {
    if (this.#pumping || this.#stopping || this.#queue.length === 0) return;
    this.#pumping = true;
    setImmediate(() => {
      this.#pumping = false;
      while (!this.#stopping && this.#queue.length > 0 && this.inProgress < this.#o.maxRuns) {
        const state = this.#queue.shift();
        if (!state) break;
        state.queued = false;
        const reason = state.pending;
        state.pending = undefined;
        if (reason) this.#start(state, reason);
      }
      let waits = false;
      for (const state of this.#queue) {
        if (!state.pending || state.pending.waited) continue;
        state.pending.waited = 'run cap';
        waits = true;
        this.#o.journal.add({ type: 'run.wait', member: state.slot.key, why: `${this.#o.maxRuns} runs in progress (the cap)` });
      }
      if (waits) this.#o.changed();
    });
  }

  /** Launches a slot; it counts as in progress from now until the launch fails or the run ends. */
  #start(state: SlotState, reason: WakeReason): void {
    const launching = this.#launch(state, reason).catch((error: unknown) => {
      this.#o.log.error(`${state.slot.key}: launch failed: ${(error as Error).message}`);
    }).finally(() => {
      state.launching = undefined;
      // A launch that did not start a run frees its place for the next in line.
      if (!state.running) {
        this.#enqueue(state);
        this.#pump();
      }
    });
    state.launching = launching;
  }

  /** Prepares a slot for a run; returns the ralph binary, or undefined (logged) when it cannot run. */
  #prepare(state: SlotState): string | undefined {
    const { slot } = state;
    const { journal, log } = this.#o;
    const away = this.#o.elsewhere?.();
    if (away) {
      log.warn(`${slot.key}: not run: ${away}`);
      journal.add({ type: 'run.skip', member: slot.key, why: 'deployed on another formation' });
      return undefined;
    }
    if (!slot.provisioned) {
      if (!state.skippedWarned) log.warn(`${slot.key}: no workspace at ${slot.workspace}; run \`bm teams sync\``);
      state.skippedWarned = true;
      journal.add({ type: 'run.skip', member: slot.key, why: 'no workspace' });
      return undefined;
    }
    const ralph = which('ralph', this.#o.env);
    if (!ralph) {
      log.error(`${slot.key}: 'ralph' is not on PATH; cannot run the member`);
      journal.add({ type: 'run.error', member: slot.key, error: 'ralph not on PATH' });
      return undefined;
    }
    try {
      writeOneShotConfig(slot.workspace);
    } catch (error) {
      log.error(`${slot.key}: cannot write ${ONESHOT_CONFIG}: ${(error as Error).message}`);
      journal.add({ type: 'run.error', member: slot.key, error: (error as Error).message });
      return undefined;
    }
    return ralph;
  }

  /** Launches one slot through the launcher helper (which checks, spawns and records it). */
  async #launch(state: SlotState, reason: WakeReason): Promise<void> {
    const { team, journal, log, launcher } = this.#o;
    const { slot } = state;
    // Still busy: answered here, without a state transaction and a log line per wake-up.
    if (state.busyWith && isOurs(state.busyWith.pid, state.busyWith.started)) return;
    state.busyWith = undefined;
    const stopped = stoppedAt(readHolds(team), slot.key);
    if (stopped !== undefined && stopped >= (this.wokenAt.get(slot.key) ?? 0)) {
      log.info(`${slot.key}: stopped by the operator; not run until an event arrives after the stop`);
      journal.add({ type: 'run.held', member: slot.key, since: new Date(stopped).toISOString() });
      return;
    }
    const ralph = this.#prepare(state);
    if (ralph === undefined) return;
    const outcome = await launcher.launch({
      team, key: slot.key, member: slot.member, project: slot.project, workspace: slot.workspace, log: slot.log,
      command: ralph, args: [...ONESHOT_ARGS], nice: this.#o.nice,
      banner: `--- ${new Date().toISOString()} bm daemon: ralph ${ONESHOT_ARGS.join(' ')} in ${slot.workspace} (woken by ${reason.what})`,
    });
    const at = performance.now();
    if (outcome.kind === 'busy') {
      state.busyWith = { pid: outcome.pid, started: outcome.started };
      const who = outcome.byDaemon ? 'a daemon run' : '`bm start`';
      log.info(`${slot.key}: already running (PID ${outcome.pid}, started by ${who}); not launched again`);
      journal.add({ type: 'run.skip', member: slot.key, why: 'already running', pid: outcome.pid });
      return;
    }
    if (outcome.kind === 'error') {
      log.error(`${slot.key}: could not start ralph: ${outcome.message}`);
      journal.add({ type: 'run.error', member: slot.key, error: outcome.message });
      return;
    }
    this.launches++;
    state.capped = false;
    const { pid, started } = outcome;
    let ended: (exit: ExitInfo) => void = () => undefined;
    const running: Running = {
      pid, started, since: Date.now(), ended: new Promise((resolve) => (ended = resolve)), timedOut: false, marks: workMarks(slot.workspace),
      timer: setTimeout(() => {
        running.timedOut = true;
        log.warn(`${slot.key}: run (PID ${pid}) exceeded ${Math.round(this.#o.runTimeoutMs / 1000)}s; stopping it`);
        journal.add({ type: 'run.timeout', member: slot.key, pid });
        void terminate(pid, started, this.#o.killAfterMs);
      }, this.#o.runTimeoutMs),
    };
    running.timer.unref();
    state.running = running;
    log.info(`${slot.key}: launched (PID ${pid}) for ${reason.what}; log at ${slot.log}`);
    const timing = reason.waited ? { waited: reason.waited } : { delayMs: Math.round((at - reason.at) * 100) / 100 };
    journal.add({ type: 'run.start', member: slot.key, pid, reason: reason.what, ...(reason.delivery ? { delivery: reason.delivery } : {}), ...timing });
    // Counted from the journaled start, so a held run never starts before the window says it may.
    this.#o.budget.started(slot.key);
    launcher.watch(pid, started, (exit) => {
      ended(exit);
      this.#finished(state, running, exit);
    });
    // A stop that began while the launch was on its way: this run is stopped like the others.
    if (this.#stopping) void terminate(pid, started, this.#o.killAfterMs);
    this.#o.changed();
  }

  #finished(state: SlotState, running: Running, exit: ExitInfo): void {
    clearTimeout(running.timer);
    const { slot } = state;
    const { log, journal, backoff } = this.#o;
    // The launcher helper has already removed the run's state entry.
    const ms = Date.now() - running.since;
    const how = exit.signal ? `signal ${exit.signal}` : exit.code === null ? 'exit status unknown' : `code ${exit.code}`;
    log.info(`${slot.key}: exited (${how}) after ${(ms / 1000).toFixed(1)}s${running.timedOut ? ' (timed out)' : ''}`);
    journal.add({ type: 'run.end', member: slot.key, pid: running.pid, code: exit.code, signal: exit.signal, ms, ...(running.timedOut ? { timedOut: true } : {}) });
    state.running = undefined;
    if (this.#stopping) return;
    const stopped = stoppedAt(readHolds(this.#o.team), slot.key);
    if (stopped !== undefined && stopped >= running.since) {
      // `bm stop` ended it: not a failure, and nothing of it is retried.
      log.info(`${slot.key}: stopped by the operator; not run until an event arrives after the stop`);
      journal.add({ type: 'run.stopped', member: slot.key, pid: running.pid });
      state.pending = undefined;
      state.failures = 0;
      state.notBefore = 0;
      clearTimeout(state.retryTimer);
      state.retryTimer = undefined;
      this.#o.changed();
      return;
    }
    // Runs the daemon stopped (timeout) did not fail on their own; an exit nobody saw (the
    // launcher helper died) has no code to judge.
    const unknown = exit.code === null && exit.signal === null;
    if (exit.code !== 0 && !unknown && ms < backoff.quickFailMs && !running.timedOut) {
      this.#failed(state, how, ms);
    } else if (exit.code === 0 && state.failures > 0) {
      log.info(`${slot.key}: ran successfully again after ${state.failures} failed run(s); backoff cleared`);
      journal.add({ type: 'run.recovered', member: slot.key, failures: state.failures });
      state.failures = 0;
      state.notBefore = 0;
    }
    void this.#judgeWork(state, running).then(() => {
      this.#enqueue(state);
      this.#pump();
      this.#o.changed();
    });
  }

  /**
   * Records whether the run did work; after runs without work, a follow-up that only the
   * member's own events asked for is dropped.
   */
  async #judgeWork(state: SlotState, running: Running): Promise<void> {
    const { slot } = state;
    const worked = (await running.marks) !== (await workMarks(slot.workspace));
    const streak = this.#o.work.ended(slot.key, worked);
    if (worked) return;
    this.#o.journal.add({ type: 'run.idle', member: slot.key, streak });
    if (streak >= IDLE_LIMIT && state.pending?.self && !state.running) {
      this.#o.log.info(`${slot.key}: its last ${streak} runs did no work; not running it again for its own events (${state.pending.what})`);
      this.#o.journal.add({ type: 'run.skip', member: slot.key, why: `its own event: its last ${streak} runs did no work`, reason: state.pending.what });
      state.pending = undefined;
    }
  }

  /** Counts a quick failure, delays the slot's next run, and retries the work while retries last. */
  #failed(state: SlotState, how: string, ms: number): void {
    const { slot } = state;
    const { log, journal, backoff } = this.#o;
    state.failures++;
    const full = Math.min(backoff.baseMs * 2 ** Math.min(state.failures - 1, 30), backoff.maxMs);
    const wait = Math.round(full * (1 - 0.2 * Math.random()));
    state.notBefore = Date.now() + wait;
    const retrying = state.failures <= backoff.retries;
    const next = `${(wait / 1000).toFixed(1)}s`;
    if (retrying) {
      state.pending ??= { what: `retry ${state.failures} of ${backoff.retries} after a failed run`, at: performance.now(), waited: 'backoff' };
      log.warn(`${slot.key}: run failed (${how} after ${(ms / 1000).toFixed(1)}s), the ${ordinal(state.failures)} failure in a row; retrying in ${next}`);
    } else {
      log.warn(`${slot.key}: run failed (${how} after ${(ms / 1000).toFixed(1)}s), the ${ordinal(state.failures)} failure in a row; no more automatic retries, the next event runs it again (not before ${next} from now)`);
    }
    journal.add({ type: 'run.backoff', member: slot.key, failures: state.failures, waitMs: wait, retrying });
  }

  /** Stops every run in progress, all at once, and forgets pending ones. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#slots.values()].map((s) => s.launching));
    this.#queue.length = 0;
    for (const s of this.#slots.values()) {
      s.pending = undefined;
      s.queued = false;
      clearTimeout(s.retryTimer);
    }
    const runs = [...this.#slots.values()].filter((s) => s.running);
    await Promise.all(runs.map(async (s) => {
      const run = s.running;
      if (!run) return;
      this.#o.log.info(`${s.slot.key}: stopping run (PID ${run.pid}) for shutdown`);
      await terminate(run.pid, run.started, this.#o.killAfterMs);
      // The exit event clears the state entry; wait for it briefly.
      await Promise.race([run.ended, new Promise((resolve) => setTimeout(resolve, 1000))]);
    }));
  }
}

/**
 * Ends one-shot runs a previous daemon left behind (it was killed before it could stop them)
 * and drops their state entries. Call only while holding the daemon lock, or when no daemon runs.
 */
export async function reapOrphanRuns(team: string, killAfterMs: number, log?: (line: string) => void): Promise<number> {
  const orphans = updateState((st) => {
    const found: StateEntry[] = [];
    for (const [key, entry] of Object.entries(st.members)) {
      if (entry.team !== team || entry.by !== 'daemon') continue;
      if (isOurs(entry.pid, entry.started)) found.push(entry);
      else delete st.members[key];
    }
    return found;
  });
  await Promise.all(orphans.map(async (entry) => {
    log?.(`Stopping ${entry.member}${entry.project ? `/${entry.project}` : ''} (PID ${entry.pid}), left running by a daemon that died`);
    await terminate(entry.pid, entry.started, killAfterMs);
  }));
  if (orphans.length > 0) {
    updateState((st) => {
      for (const [key, entry] of Object.entries(st.members)) {
        if (entry.team === team && entry.by === 'daemon' && !isOurs(entry.pid, entry.started)) delete st.members[key];
      }
    });
  }
  return orphans.length;
}
