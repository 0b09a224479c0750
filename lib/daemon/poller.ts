/**
 * Poll mode (and the reconcile poll that runs alongside webhook mode): a repository's Events
 * API, one conditional request per poll, plus the next pages when the first does not reach the
 * cursor (readRepoEvents in lib/github.ts). The daemon runs one poller per team repository
 * (the team repo and each project repo on GitHub), each with its own cursor file, ETag and
 * X-Poll-Interval.
 *
 * - The ETag is sent back as `If-None-Match`: a 304 means nothing changed and costs no rate limit.
 * - The next poll waits at least the interval, and at least GitHub's `X-Poll-Interval`.
 * - The first poll ever only sets the cursor (the newest event id): history is not replayed.
 *   The cursor and ETag live in poll.json, which survives restarts; a torn file is reported and
 *   treated as "no cursor" (so the next poll sets it again rather than replaying).
 * - When the cursor is no longer in the timeline (more than 300 events since, or 90 days),
 *   events were missed unseen: the team is woken once, as one of them may have mattered.
 * - Rate limits: a 403/429 with the limit used up waits until `x-ratelimit-reset`; `retry-after`
 *   is honoured; other failures back off exponentially (capped), without moving the cursor.
 *
 * Event ids are numeric strings and are compared as BigInt, never as strings.
 */
import { schema, type Infer } from '../zod.ts';
import { readTextIfExists, writeFileAtomic } from '../files.ts';
import { GitHubError, readRepoEvents, type EventsRead, type GitHub } from '../github.ts';
import { judge, polledFacts, webhookName, type Judgement, type TeamCoordinates } from './events.ts';
import type { Journal } from './journal.ts';
import type { Logger } from './log.ts';

const cursorSchema = schema((z) => z.looseObject({
  /** The repository the cursor belongs to (files written before it was recorded have none). */
  repo: z.optional(z.string()),
  last_event_id: z.nullable(z.string()),
  etag: z.optional(z.nullable(z.string())),
  last_poll_at: z.optional(z.nullable(z.string())),
}));

/** The content of poll.json. */
export type PollCursor = Infer<typeof cursorSchema>;

/** Reads poll.json; a missing file is no cursor, a broken one is reported through `onCorrupt`. */
export function readCursor(file: string, onCorrupt: (why: string) => void = () => undefined): PollCursor {
  const empty: PollCursor = { last_event_id: null, etag: null, last_poll_at: null };
  let text: string | undefined;
  try {
    text = readTextIfExists(file);
  } catch (error) {
    onCorrupt((error as Error).message);
    return empty;
  }
  if (text === undefined) return empty;
  try {
    const parsed = cursorSchema().safeParse(JSON.parse(text));
    if (parsed.success && (parsed.data.last_event_id === null || /^\d+$/.test(parsed.data.last_event_id))) return parsed.data;
    onCorrupt('unexpected content');
  } catch (error) {
    onCorrupt((error as Error).message);
  }
  return empty;
}

/** Options of the poller. */
export interface PollerOptions {
  gh: GitHub;
  repo: string;
  /** Seconds between polls (GitHub's X-Poll-Interval wins when it asks for more). */
  intervalSeconds: number;
  cursorFile: string;
  events: ReadonlySet<string>;
  coordinates: TeamCoordinates;
  log: Logger;
  journal: Journal;
  /** Called once per poll that found new wake-up events; `self` when the team's own identity caused all of them. */
  wake(what: string, self: boolean): void;
  /** Called with the new events each poll read, and what the rules made of each (for the counters). */
  seen(judgements: Judgement[]): void;
  /** `reconcile` in webhook mode, `poll` in poll mode (log wording only). */
  role: 'poll' | 'reconcile';
}

/** Longest wait between retries after failures. */
const MAX_BACKOFF_MS = 15 * 60 * 1000;

/** Polls until stopped. */
export class Poller {
  readonly #o: PollerOptions;
  #cursor: PollCursor;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  #rateLimitWarned = false;
  /** Polls made (requests sent). */
  polls = 0;
  /** When the next poll is due (epoch ms). */
  nextAt = 0;
  /** The interval really used (seconds), and why it is not the flag's when it is not. */
  effective: { seconds: number; why: string };

  constructor(options: PollerOptions) {
    this.#o = options;
    this.#cursor = readCursor(options.cursorFile, (why) => options.log.warn(`${options.cursorFile} is unreadable (${why}); the next poll starts a new cursor without replaying history`));
    const previous = this.#cursor.repo;
    if (previous !== undefined && previous.toLowerCase() !== options.repo.toLowerCase()) {
      // Event ids of another repository say nothing about this one.
      options.log.info(`the poll cursor belongs to ${previous}, not ${options.repo}; starting a new one without replaying history`);
      this.#cursor = { last_event_id: null, etag: null, last_poll_at: null };
    }
    this.#cursor.repo = options.repo;
    this.effective = { seconds: options.intervalSeconds, why: 'the interval asked for' };
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.nextAt = Date.now() + ms;
    this.#timer = setTimeout(() => void this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    this.#schedule(await this.pollOnce());
  }

  #save(): void {
    writeFileAtomic(this.#o.cursorFile, `${JSON.stringify(this.#cursor, null, 2)}\n`, 0o600);
  }

  /** One poll; returns the delay (ms) before the next one. */
  async pollOnce(): Promise<number> {
    const { gh, repo, log, journal } = this.#o;
    const intervalMs = this.#o.intervalSeconds * 1000;
    this.polls++;
    try {
      const result = await readRepoEvents(gh, repo, { etag: this.#cursor.etag ?? null, cursor: this.#cursor.last_event_id });
      this.#failures = 0;
      this.#rateLimitWarned = false;
      const now = new Date().toISOString();
      if (result.status === 304) {
        journal.add({ type: 'poll', repo, status: 304 });
        this.#cursor.last_poll_at = now;
      } else {
        this.#consume(result);
        this.#cursor = { ...this.#cursor, etag: result.etag, last_poll_at: now };
      }
      this.#save();
      this.effective = result.pollIntervalSeconds > this.#o.intervalSeconds
        ? { seconds: result.pollIntervalSeconds, why: `GitHub's X-Poll-Interval (${result.pollIntervalSeconds}s) is longer than the ${this.#o.intervalSeconds}s asked for` }
        : { seconds: this.#o.intervalSeconds, why: `the interval asked for (GitHub's X-Poll-Interval is ${result.pollIntervalSeconds}s)` };
      return this.effective.seconds * 1000;
    } catch (error) {
      this.#failures++;
      const failure = error instanceof GitHubError ? error : new GitHubError(0, (error as Error).message, '');
      journal.add({ type: 'poll.error', status: failure.status, error: failure.message });
      if (failure.rateLimitResetAt) {
        const wait = Math.max(Date.parse(failure.rateLimitResetAt) - Date.now() + 1000, intervalMs);
        if (!this.#rateLimitWarned) log.warn(`rate limit used up; next ${this.#o.role} at ${failure.rateLimitResetAt}`);
        this.#rateLimitWarned = true;
        return wait;
      }
      const backoff = Math.min(intervalMs * 2 ** Math.min(this.#failures, 10), MAX_BACKOFF_MS);
      const asked = (failure.retryAfterSeconds ?? 0) * 1000;
      const wait = Math.max(backoff, asked);
      log.warn(`${this.#o.role} of ${repo} failed (${failure.message}); retrying in ${Math.round(wait / 1000)}s`);
      return wait;
    }
  }

  #consume(result: EventsRead): void {
    const { log, journal, events, coordinates, repo } = this.#o;
    const { pages } = result;
    const newest = result.events.reduce<bigint | null>((max, e) => (max === null || BigInt(e.id) > max ? BigInt(e.id) : max), null);
    const cursor = this.#cursor.last_event_id;
    if (cursor === null) {
      this.#cursor.last_event_id = (newest ?? 0n).toString();
      log.info(`${this.#o.role} of ${repo}: cursor set at event ${this.#cursor.last_event_id}; older events are not replayed`);
      journal.add({ type: 'poll', repo, status: 200, pages, cursor: this.#cursor.last_event_id, initial: true });
      return;
    }
    const after = BigInt(cursor);
    const fresh = result.events.filter((e) => BigInt(e.id) > after);
    // Cursor 0 was set on an empty timeline: every event since is newer, none can have been
    // missed unless the timeline overflowed (300 events) before this poll.
    const gap = fresh.length > 0 && !result.reachedCursor && (after > 0n || !result.complete);
    if (gap) log.warn(`${this.#o.role} of ${repo}: gap detected: event ${cursor} is no longer in the timeline (${fresh.length} newer events read); waking once in case a missed event mattered`);
    const judged = fresh.map((e) => judge(polledFacts(e), events, coordinates));
    const waking = fresh.filter((_, i) => judged[i].wake);
    const self = judged.every((j) => !j.wake || j.self);
    if (newest !== null && newest > after) this.#cursor.last_event_id = newest.toString();
    const ignored = judged.filter((j) => !j.wake).map((j) => (j.wake ? '' : j.reason));
    journal.add({
      type: 'poll', repo, status: 200, pages, fresh: fresh.length, waking: waking.length, ...(gap ? { gap: true } : {}), cursor: this.#cursor.last_event_id,
      ...(ignored.length > 0 ? { ignored: Object.fromEntries([...new Set(ignored)].map((r) => [r, ignored.filter((x) => x === r).length])) } : {}),
    });
    if (fresh.length > 0) this.#o.seen(judged);
    if (waking.length > 0) {
      const types = [...new Set(waking.map((e) => webhookName(e.type)))].join(', ');
      this.#o.wake(`${this.#o.role} of ${repo}: ${waking.length} new event(s) (${types})`, self);
    } else if (gap) {
      this.#o.wake(`${this.#o.role} of ${repo}: events missed in a gap`, false);
    }
  }
}

/** Env knob: seconds between reconcile polls in webhook mode (default 300). */
export function reconcileSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_RECONCILE_S);
  return Number.isFinite(value) && value > 0 ? value : 300;
}
