/**
 * Board polling: the team's Projects v2 board read through GraphQL, so that Status moves wake
 * the team where no webhook reports them. `projects_v2_item` webhooks exist only for
 * organisation (and App) hooks and the Events API never carries them: poll mode and user-owned
 * boards (what `bm init --github-repo user/x` makes) see board moves only this way.
 *
 * One query per interval (readBoardItems: 1 point per 100 items). Items cannot be ordered by
 * `updatedAt`, so the cursor is the newest `updatedAt` seen, with the Status each item had:
 * an item updated after the cursor whose Status differs from the one remembered (or that is new
 * with a Status) is a move. The first poll only remembers. The state lives in board.json and
 * survives restarts. GitHub's GraphQL rate limit is honoured: with no points left (or a
 * RATE_LIMITED answer) the next poll waits until `x-ratelimit-reset`; other failures back off.
 */
import { schema, type Infer } from '../zod.ts';
import { readTextIfExists, writeFileAtomic } from '../files.ts';
import { GitHubError, readBoardItems, type GitHub } from '../github.ts';
import type { Journal } from './journal.ts';
import type { Logger } from './log.ts';

const stateSchema = schema((z) => z.object({
  board: z.string(),
  /** The newest `updatedAt` seen (ISO). */
  cursor: z.string(),
  /** Item id → Status name (null: none). */
  statuses: z.record(z.string(), z.nullable(z.string())),
}));

type BoardState = Infer<typeof stateSchema>;

/** Options of the board poller. */
export interface BoardPollerOptions {
  gh: GitHub;
  /** The board's node id. */
  board: string;
  intervalSeconds: number;
  stateFile: string;
  log: Logger;
  journal: Journal;
  /** Called once per poll that found Status moves. */
  wake(what: string): void;
  /** Called with the number of moves a poll found (the events counter). */
  seen(moves: number): void;
}

const MAX_BACKOFF_MS = 15 * 60 * 1000;
/** GitHub's advice for secondary limits without `retry-after`: wait at least a minute. */
const SECONDARY_WAIT_MS = 60_000;

/** Polls the board until stopped. */
export class BoardPoller {
  readonly #o: BoardPollerOptions;
  #state: BoardState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  /** Queries sent. */
  queries = 0;

  constructor(options: BoardPollerOptions) {
    this.#o = options;
    try {
      const text = readTextIfExists(options.stateFile);
      const parsed = text === undefined ? undefined : stateSchema().safeParse(JSON.parse(text));
      if (parsed?.success && parsed.data.board === options.board) this.#state = parsed.data;
    } catch {
      // A torn file: the next poll remembers afresh, without waking anyone.
    }
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.pollOnce().then((next) => this.#schedule(next)), ms);
  }

  /** One poll; returns the delay (ms) before the next one. */
  async pollOnce(): Promise<number> {
    const { gh, board, log, journal } = this.#o;
    const intervalMs = this.#o.intervalSeconds * 1000;
    try {
      const { items, limits, pages } = await readBoardItems(gh, board);
      this.queries += pages;
      this.#failures = 0;
      const cursor = items.reduce((max, i) => (i.updatedAt > max ? i.updatedAt : max), this.#state?.cursor ?? '');
      const statuses = Object.fromEntries(items.map((i) => [i.id, i.status]));
      if (!this.#state) {
        journal.add({ type: 'board.poll', items: items.length, pages, initial: true });
      } else {
        const before = this.#state;
        const moves = items.filter((i) => i.updatedAt > before.cursor && (i.id in before.statuses ? before.statuses[i.id] !== i.status : i.status !== null));
        journal.add({ type: 'board.poll', items: items.length, pages, moves: moves.length });
        if (moves.length > 0) {
          this.#o.seen(moves.length);
          const shown = moves.slice(0, 3).map((m) => `${m.ref ?? m.id} → ${m.status ?? 'no status'}`).join(', ');
          this.#o.wake(`board: ${moves.length} Status change(s) (${shown}${moves.length > 3 ? ', ...' : ''})`);
        }
      }
      this.#state = { board, cursor, statuses };
      writeFileAtomic(this.#o.stateFile, `${JSON.stringify(this.#state)}\n`, 0o600);
      if (limits.remaining === 0 && limits.resetAt) {
        log.warn(`board poll: no GraphQL points left; next poll at ${limits.resetAt}`);
        return Math.max(Date.parse(limits.resetAt) - Date.now() + 1000, intervalMs);
      }
      return intervalMs;
    } catch (error) {
      this.queries++;
      return this.#failed(error, intervalMs);
    }
  }

  #failed(error: unknown, intervalMs: number): number {
    this.#failures++;
    const failure = error instanceof GitHubError ? error : new GitHubError(0, (error as Error).message, '');
    this.#o.journal.add({ type: 'board.error', status: failure.status, error: failure.message });
    if (failure.rateLimitResetAt) {
      this.#o.log.warn(`board poll: ${failure.message}; next poll at ${failure.rateLimitResetAt}`);
      return Math.max(Date.parse(failure.rateLimitResetAt) - Date.now() + 1000, intervalMs);
    }
    const backoff = Math.min(intervalMs * 2 ** Math.min(this.#failures, 10), MAX_BACKOFF_MS);
    const asked = failure.retryAfterSeconds !== null ? Math.max(failure.retryAfterSeconds * 1000, SECONDARY_WAIT_MS) : 0;
    const wait = Math.max(backoff, asked);
    this.#o.log.warn(`board poll failed (${failure.message}); retrying in ${Math.round(wait / 1000)}s`);
    return wait;
  }
}
