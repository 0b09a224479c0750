/**
 * One-shot member runs with per-member coalescing.
 *
 * Every wake-up asks each member workspace (slot) for one run. A slot has at most one run in
 * progress and one pending: a wake-up while a run is in progress only marks the slot pending,
 * and when the run ends one more run starts. So a burst of 100 events causes at most two runs
 * per member, and the second one sees everything the burst changed. Slots run in parallel.
 *
 * A run is `ralph run -c ralph.oneshot.yml -P PROMPT.md` in the workspace: the workspace's
 * ralph.yml with `event_loop.persistent: false`, so ralph scans all available work, processes
 * it and exits. Runs are recorded in state.json (pid + start time, `by: daemon`) under the
 * state lock, exactly where `bm start` records its members, so the two never run two ralphs in
 * one workspace: a member `bm start` already runs is skipped, and `bm start` skips a member
 * the daemon is running.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { readTextIfExists, writeFileAtomic } from '../files.ts';
import type { Slot } from '../lifecycle/slots.ts';
import { isOurs, spawnDetached, terminate, which } from '../proc.ts';
import { stateKey, updateState, type StateEntry } from '../state.ts';
import type { Journal } from './journal.ts';
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
  /** A pending run started when the previous one ended: its wait is not the daemon's latency. */
  followUp?: boolean;
}

/** Options of the scheduler. */
export interface SchedulerOptions {
  team: string;
  /** The team's member workspaces, read afresh at each wake-up (members may be hired meanwhile). */
  slots(): Slot[];
  env: NodeJS.ProcessEnv;
  /** A run still going after this long is stopped. */
  runTimeoutMs: number;
  /** SIGTERM → SIGKILL grace when stopping a run. */
  killAfterMs: number;
  journal: Journal;
  log: Logger;
  /** Called whenever a counter changes. */
  changed(): void;
}

/** How a run ended. */
interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A promise settled by a child's exit event. */
class Exit {
  readonly promise: Promise<ExitInfo>;
  settle: (code: number | null, signal: NodeJS.Signals | null) => void = () => undefined;
  constructor() {
    this.promise = new Promise((resolve) => {
      this.settle = (code, signal) => resolve({ code, signal });
    });
  }
}

interface Running {
  pid: number;
  started: string;
  since: number;
  timer: NodeJS.Timeout;
  ended: Promise<ExitInfo>;
  timedOut: boolean;
}

interface SlotState {
  slot: Slot;
  running?: Running;
  pending?: WakeReason;
  skippedWarned?: boolean;
}

/** The ralph.yml each one-shot config was made from (size and mtime), to skip unchanged ones. */
const madeFrom = new Map<string, string>();

/** Writes `ralph.oneshot.yml`: the workspace's ralph.yml with `event_loop.persistent: false`. */
export function writeOneShotConfig(workspace: string): string {
  const source = path.join(workspace, 'ralph.yml');
  const target = path.join(workspace, ONESHOT_CONFIG);
  const stamp = `${statSync(source).mtimeMs}:${statSync(source).size}`;
  if (madeFrom.get(target) === stamp && existsSync(target)) return target;
  const doc = parseDocument(readFileSync(source, 'utf8'));
  doc.setIn(['event_loop', 'persistent'], false);
  const text = `# Written by the bm daemon for one-shot runs; edit ralph.yml instead.\n${doc.toString({ lineWidth: 0 })}`;
  // Unchanged most of the time: skipping the write keeps a launch free of fsyncs.
  if (readTextIfExists(target) !== text) writeFileAtomic(target, text);
  madeFrom.set(target, stamp);
  return target;
}

/** Runs members one-shot, coalescing wake-ups per member. */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #slots = new Map<string, SlotState>();
  #stopping = false;
  /** Runs started since the daemon started. */
  launches = 0;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Runs in progress. */
  get inProgress(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.running) n++;
    return n;
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

  /** Asks every member for one run. */
  wake(reason: WakeReason): void {
    if (this.#stopping) return;
    let slots: Slot[];
    try {
      slots = this.#o.slots();
    } catch (error) {
      this.#o.log.error(`cannot read the team's members: ${(error as Error).message}`);
      return;
    }
    const idle: SlotState[] = [];
    for (const slot of slots) {
      const state = this.#slots.get(slot.key) ?? { slot };
      state.slot = slot;
      this.#slots.set(slot.key, state);
      // Keep the first pending reason: it is the oldest event the follow-up run answers.
      if (state.running) state.pending ??= reason;
      else idle.push(state);
    }
    this.#launch(idle, reason);
  }

  /** Prepares a slot for a run; returns the ralph binary, or undefined (logged) when it cannot run. */
  #prepare(state: SlotState): string | undefined {
    const { slot } = state;
    const { journal, log } = this.#o;
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

  /** Launches the given idle slots in one state transaction (one lock, one write). */
  #launch(states: SlotState[], reason: WakeReason): void {
    const ready = states.map((state) => ({ state, ralph: this.#prepare(state) })).filter((c): c is { state: SlotState; ralph: string } => c.ralph !== undefined);
    if (ready.length === 0) return;
    const { team, journal, log } = this.#o;
    type Outcome = { kind: 'busy'; entry: StateEntry } | { kind: 'started'; pid: number; started: string; exit: Exit; at: number } | { kind: 'error'; message: string };
    const outcomes = updateState((st) => ready.map(({ state: { slot }, ralph }): Outcome => {
      const key = stateKey(team, slot.key);
      const existing = st.members[key];
      if (existing && isOurs(existing.pid, existing.started)) return { kind: 'busy', entry: existing };
      const sameWorkspace = Object.values(st.members).find((e) => e.workspace === slot.workspace && isOurs(e.pid, e.started));
      if (sameWorkspace) return { kind: 'busy', entry: sameWorkspace };
      const exit = new Exit();
      try {
        const launched = spawnDetached({
          command: ralph,
          args: ONESHOT_ARGS,
          cwd: slot.workspace,
          env: this.#o.env,
          logFile: slot.log,
          banner: `--- ${new Date().toISOString()} bm daemon: ralph ${ONESHOT_ARGS.join(' ')} in ${slot.workspace} (woken by ${reason.what})`,
          onExit: exit.settle,
        });
        st.members[key] = {
          team, member: slot.member, project: slot.project, pid: launched.pid, started: launched.started,
          started_at: new Date().toISOString(), workspace: slot.workspace, log: slot.log, by: 'daemon',
        };
        return { kind: 'started', pid: launched.pid, started: launched.started, exit, at: performance.now() };
      } catch (error) {
        return { kind: 'error', message: (error as Error).message };
      }
    }));
    ready.forEach(({ state }, i) => {
      const outcome = outcomes[i];
      const { slot } = state;
      if (outcome.kind === 'busy') {
        const who = outcome.entry.by === 'daemon' ? 'a daemon run' : '`bm start`';
        log.info(`${slot.key}: already running (PID ${outcome.entry.pid}, started by ${who}); not launched again`);
        journal.add({ type: 'run.skip', member: slot.key, why: 'already running', pid: outcome.entry.pid });
        return;
      }
      if (outcome.kind === 'error') {
        log.error(`${slot.key}: could not start ralph: ${outcome.message}`);
        journal.add({ type: 'run.error', member: slot.key, error: outcome.message });
        return;
      }
      const delayMs = outcome.at - reason.at;
      this.launches++;
      const { pid, started, exit } = outcome;
      const running: Running = {
        pid, started, since: Date.now(), ended: exit.promise, timedOut: false,
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
      journal.add({ type: 'run.start', member: slot.key, pid, reason: reason.what, ...(reason.delivery ? { delivery: reason.delivery } : {}), ...(reason.followUp ? { followUp: true } : { delayMs: Math.round(delayMs * 100) / 100 }) });
      void exit.promise.then((info) => this.#finished(state, running, info));
    });
    this.#o.changed();
  }

  #finished(state: SlotState, running: Running, exit: ExitInfo): void {
    clearTimeout(running.timer);
    const { slot } = state;
    updateState((st) => {
      const key = stateKey(this.#o.team, slot.key);
      if (st.members[key]?.pid === running.pid) delete st.members[key];
    });
    const ms = Date.now() - running.since;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? '?'}`;
    this.#o.log.info(`${slot.key}: exited (${how}) after ${(ms / 1000).toFixed(1)}s${running.timedOut ? ' (timed out)' : ''}`);
    this.#o.journal.add({ type: 'run.end', member: slot.key, pid: running.pid, code: exit.code, signal: exit.signal, ms, ...(running.timedOut ? { timedOut: true } : {}) });
    state.running = undefined;
    const pending = state.pending;
    state.pending = undefined;
    if (pending && !this.#stopping) {
      this.#launch([state], { ...pending, followUp: true });
    }
    this.#o.changed();
  }

  /** Stops every run in progress, all at once, and forgets pending ones. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    const runs = [...this.#slots.values()].filter((s) => s.running);
    for (const s of this.#slots.values()) s.pending = undefined;
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
