/**
 * Two guards against runs that burn tokens without new work, used by the scheduler:
 *
 * - `RunBudget`: at most `maxRunsPerHour` runs per member workspace in any sliding window of an
 *   hour. A wake-up beyond it is not dropped: it waits, coalesced with any others, and runs
 *   once when the oldest run of the window leaves it.
 * - `WorkTracker`: did a run do work? A run that moved neither its workspace's HEAD nor its
 *   team repo clone's (`.botminter`) did none. After `IDLE_LIMIT` such runs in a row, events
 *   the team's own identity caused while the member ran (or within `OWN_EVENT_GRACE_MS` of its
 *   end, as deliveries lag) are taken as its own and do not wake it again; any other event
 *   does, and a run that does work clears it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

/** Runs without work in a row after which a member's own events no longer wake it. */
export const IDLE_LIMIT = 2;
/** How long after a run's end an event of the team's identity still counts as the member's own. */
export const OWN_EVENT_GRACE_MS = 2 * 60_000;

/** Env knob (tests, bench): the budget window in ms (default one hour). */
export function budgetWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_BUDGET_WINDOW_MS);
  return Number.isFinite(value) && value > 0 ? value : 60 * 60_000;
}

/** A member at its cap (`bm daemon status`). */
export interface AtCap {
  member: string;
  runs: number;
  /** When its next run may start. */
  until: string;
}

/** Per-key run counts in a sliding window. */
export class RunBudget {
  readonly #starts = new Map<string, number[]>();

  constructor(readonly maxRuns: number, readonly windowMs: number, private readonly now: () => number = Date.now) {}

  #recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const starts = (this.#starts.get(key) ?? []).filter((t) => t > since);
    this.#starts.set(key, starts);
    return starts;
  }

  /** Records a run start of `key`. */
  started(key: string): void {
    this.#recent(key).push(this.now());
  }

  /** When `key` may run next (epoch ms): now, or when the oldest run of its window leaves it. */
  freeAt(key: string): number {
    const starts = this.#recent(key);
    return starts.length < this.maxRuns ? this.now() : starts[starts.length - this.maxRuns] + this.windowMs;
  }

  /** Keys at their cap, with when each may run next. */
  atCap(): AtCap[] {
    return [...this.#starts.keys()]
      .filter((key) => this.#recent(key).length >= this.maxRuns)
      .map((key) => ({ member: key, runs: this.#recent(key).length, until: new Date(this.freeAt(key)).toISOString() }));
  }
}

function head(dir: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, 'rev-parse', '-q', '--verify', 'HEAD'], { timeout: 10_000 }, (error, stdout) => resolve(error ? '' : stdout.trim()));
  });
}

/** The commits a workspace and its team repo clone are at: work shows as a change of these. */
export async function workMarks(workspace: string): Promise<string> {
  const [own, team] = await Promise.all([head(workspace), head(path.join(workspace, '.botminter'))]);
  return `${own}|${team}`;
}

/** Per-key streaks of runs that did no work. */
export class WorkTracker {
  readonly #idle = new Map<string, number>();
  readonly #ended = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a run of `key` that ended: `worked` when it moved a HEAD. Returns the idle streak. */
  ended(key: string, worked: boolean): number {
    this.#ended.set(key, this.now());
    const streak = worked ? 0 : (this.#idle.get(key) ?? 0) + 1;
    this.#idle.set(key, streak);
    return streak;
  }

  /**
   * True when an event of the team's identity, arriving now, is `key`'s own and must not wake
   * it: it keeps running without work, and it runs or has just run.
   */
  ignoresOwn(key: string, running: boolean): boolean {
    if ((this.#idle.get(key) ?? 0) < IDLE_LIMIT) return false;
    return running || this.now() - (this.#ended.get(key) ?? -Infinity) <= OWN_EVENT_GRACE_MS;
  }

  /** Keys whose runs keep doing no work (`bm daemon status`). */
  idle(): { member: string; runs: number }[] {
    return [...this.#idle].filter(([, runs]) => runs >= IDLE_LIMIT).map(([member, runs]) => ({ member, runs }));
  }
}
