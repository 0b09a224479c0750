/**
 * The daemon's files under `BM_HOME/daemon/<team>/` and the answer to "is it running?".
 *
 *   daemon.pid     {pid, started}: the `bm daemon run` process (pid + start-time token)
 *   daemon.sock    the singleton lock: a Unix socket the daemon listens on while it lives
 *   daemon.json    what it runs (mode, port, ...) and its counters, rewritten as they change
 *   poll.json      the poll cursor and ETag of the team repo (kept across restarts)
 *   poll.<owner>.<name>.json  the same for each project repo on GitHub
 *   hook.json      the GitHub webhook bm set up or found for the team repo (no secret), for status
 *   board.json     the board poll's cursor and the Status of each item (kept across restarts)
 *   daemon.log     its log (rotated by copy-and-truncate)
 *   journal.jsonl  one JSON line per delivery, poll and run (kept across restarts)
 *
 * A pid is only trusted together with its start time (lib/proc.ts), so a pid file left by a
 * killed daemon is recognised as stale even when the number was handed to another process.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type * as z from 'zod/mini';
import { schema, type Infer } from '../zod.ts';
import { readTextIfExists, writeFileAtomic } from '../files.ts';
import { home } from '../paths.ts';
import { isOurs } from '../proc.ts';
import { heldSince, type Hold } from './holds.ts';
import type { AtCap } from './budget.ts';
import type { Backoff } from './scheduler.ts';

/** Paths of one team's daemon files. */
export function daemonPaths(team: string) {
  const dir = home.daemon(team);
  return {
    dir,
    pid: path.join(dir, 'daemon.pid'),
    sock: socketPath(path.join(dir, 'daemon.sock')),
    json: path.join(dir, 'daemon.json'),
    poll: path.join(dir, 'poll.json'),
    board: path.join(dir, 'board.json'),
    hook: path.join(dir, 'hook.json'),
    /** The poll cursor of a project repo (`owner/name`, as githubSlugOf makes it: no slash in either part). */
    pollOf: (slug: string) => path.join(dir, `poll.${slug.replace('/', '.')}.json`),
    log: path.join(dir, 'daemon.log'),
    journal: path.join(dir, 'journal.jsonl'),
  };
}

export type DaemonPaths = ReturnType<typeof daemonPaths>;

/** Unix socket paths are limited to about 100 bytes; a longer one moves to the temp dir under a hashed name. */
function socketPath(wanted: string): string {
  if (Buffer.byteLength(wanted) <= 100) return wanted;
  // Loaded here, not at the top: bm status reads these files and should not pay for node:crypto.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return path.join(process.getBuiltinModule('node:os').tmpdir(), `bm-daemon-${createHash('sha256').update(wanted).digest('hex').slice(0, 20)}.sock`);
}

/** Exit code of a `bm daemon run` that found another daemon holding the lock. */
export const EXIT_ALREADY_RUNNING = 3;

/** How the daemon receives work. */
export type DaemonMode = 'webhook' | 'poll';

const pidSchema = schema((z) => z.object({ pid: z.number(), started: z.string() }));

/** The content of `daemon.pid`. */
export type PidRecord = Infer<typeof pidSchema>;

const recordSchema = schema((z) => z.looseObject({
  team: z.string(),
  mode: z.enum(['webhook', 'poll']),
  pid: z.number(),
  bind: z.optional(z.string()),
  port: z.optional(z.nullable(z.number())),
  interval: z.number(),
  tunnel: z.optional(z.nullable(z.string())),
  tunnelState: z.optional(z.nullable(z.string())),
  startedAt: z.string(),
  ready: z.boolean(),
  events: z.number(),
  relevant: z.number(),
  launches: z.number(),
  inProgress: z.number(),
  lastEventAt: z.nullable(z.string()),
  rejected: z.optional(z.number()),
  maxRuns: z.optional(z.number()),
  waiting: z.optional(z.number()),
  backoff: z.optional(z.array(z.object({ member: z.string(), failures: z.number(), until: z.string(), retrying: z.boolean() }))),
  /** The poll (or reconcile poll) interval really used, and why (GitHub's X-Poll-Interval may ask for more). */
  effectiveInterval: z.optional(z.object({ seconds: z.number(), why: z.string() })),
  /** When new work last woke each member slot (an operator stop after it holds the member). */
  wokenAt: z.optional(z.record(z.string(), z.string())),
  /** The per-member budget, the members at it and those whose runs keep doing no work (budget.ts). */
  maxRunsPerHour: z.optional(z.number()),
  atCap: z.optional(z.array(z.object({ member: z.string(), runs: z.number(), until: z.string() }))),
  idle: z.optional(z.array(z.object({ member: z.string(), runs: z.number() }))),
  /** Verified events that woke nobody, in all and per reason (events.ts IgnoreReason). */
  ignored: z.optional(z.number()),
  ignoredBy: z.optional(z.record(z.string(), z.number())),
  /** The team's GitHub identity (login), its repositories and its board, as resolved at start. */
  identity: z.optional(z.nullable(z.string())),
  repos: z.optional(z.array(z.string())),
  /** `polled`: its moves are read by the board poll (board.ts), as no webhook delivers them. */
  board: z.optional(z.nullable(z.object({ id: z.string(), url: z.string(), ownerType: z.string(), polled: z.optional(z.boolean()) }))),
  /** The rule table for events the team's own identity caused (events.ts SELF_RULES). */
  rules: z.optional(z.array(z.object({ event: z.string(), wakes: z.array(z.string()), why: z.string() }))),
}));

/** The content of `daemon.json`. */
export type DaemonRecord = Infer<typeof recordSchema>;

/** A JSON file of the daemon's, if it exists and `schema` accepts it; a torn or foreign one is none. */
export function readJson<T>(file: string, schema: () => z.ZodMiniType<T>): T | undefined {
  try {
    const text = readTextIfExists(file);
    if (text === undefined) return undefined;
    const parsed = schema().safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `daemon.pid`; undefined when missing or unreadable. */
export function readPidFile(paths: DaemonPaths): PidRecord | undefined {
  return readJson(paths.pid, pidSchema);
}

/** Writes `daemon.pid` (0600). */
export function writePidFile(paths: DaemonPaths, record: PidRecord): void {
  writeFileAtomic(paths.pid, `${JSON.stringify(record)}\n`, 0o600);
}

/** Reads `daemon.json`; undefined when missing or unreadable. */
export function readRecord(paths: DaemonPaths): DaemonRecord | undefined {
  return readJson(paths.json, recordSchema);
}

/**
 * Writes `daemon.json` atomically (0600). It is rewritten often (counters) and rebuilt at every
 * start, so it skips the fsyncs of `writeFileAtomic`: a crash may lose the last counters, never
 * leave half a file.
 */
export function writeRecord(paths: DaemonPaths, record: DaemonRecord): void {
  writeFileAtomic(paths.json, `${JSON.stringify(record, null, 2)}\n`, 0o600, { durable: false });
}

/** What is known about a team's daemon. */
export type Liveness =
  | { state: 'running'; pid: number; started: string; record: DaemonRecord | undefined }
  | { state: 'stale'; pid: number | null }
  | { state: 'stopped' };

/** Is the team's daemon running? A pid file whose process is gone (or is someone else) is `stale`. */
export function liveness(paths: DaemonPaths): Liveness {
  const pid = readPidFile(paths);
  if (pid && isOurs(pid.pid, pid.started)) return { state: 'running', pid: pid.pid, started: pid.started, record: readRecord(paths) };
  const text = readTextIfExists(paths.pid);
  if (text !== undefined) return { state: 'stale', pid: pid?.pid ?? null };
  return readRecord(paths) ? { state: 'stale', pid: null } : { state: 'stopped' };
}

/** Removes the files of a daemon that is gone; the poll cursor and the journal stay. */
export function removeRuntimeFiles(paths: DaemonPaths): void {
  for (const file of [paths.pid, paths.json, paths.sock]) rmSync(file, { force: true });
}

/** `bm daemon status --json` (DESIGN §6 shape plus extra fields). */
export interface DaemonStatus {
  running: boolean;
  pid: number | null;
  mode: DaemonMode | null;
  port?: number;
  bind?: string;
  interval?: number;
  tunnel?: string;
  tunnelState?: string;
  startedAt: string | null;
  uptimeSeconds?: number;
  lastEventAt: string | null;
  events: number;
  launches: number;
  inProgress: number;
  /** Webhook requests refused (bad signature, malformed, too big, too many at once). */
  rejected?: number;
  /** The cap on runs in progress (running daemons only). */
  maxRuns?: number;
  /** Members with work waiting for a run: behind their previous run, the cap or a backoff. */
  waiting?: number;
  /** Members whose runs keep failing, and when they may run next. */
  backoff?: Backoff[];
  /** The poll interval really used and why (poll mode; the reconcile poll's in webhook mode). */
  effectiveInterval?: { seconds: number; why: string };
  /** Members the operator stopped after the last wake-up: the daemon runs them at the next event. */
  stoppedByOperator?: Hold[];
  /** Most runs per member in any hour, the members at it (and when they run next), and members whose runs keep doing no work. */
  maxRunsPerHour?: number;
  atCap?: AtCap[];
  idle?: { member: string; runs: number }[];
  /** Verified events that woke nobody, and why (per reason). */
  ignored?: number;
  ignoredBy?: Record<string, number>;
  identity?: string | null;
  repos?: string[];
  board?: { id: string; url: string; ownerType: string; polled?: boolean } | null;
  rules?: { event: string; wakes: string[]; why: string }[];
  /**
   * `bm daemon status` only (asked of GitHub, not in daemon.json): the webhook bm set up and
   * GitHub's last delivery to it (`ok` null: none yet), or why that is unknown.
   */
  webhook?: {
    repo: string; id: number; url: string;
    lastDelivery: { ok: boolean | null; text: string; code: number | null; status: string | null; message: string | null } | null;
    error?: string;
  };
  /** Set when a dead daemon's files were found (and removed). */
  stale?: boolean;
}

/** The team's daemon now; stale files of a dead daemon are removed (and reported as `stale`). */
export function daemonStatus(team: string, { clean = true } = {}): DaemonStatus {
  const paths = daemonPaths(team);
  const live = liveness(paths);
  const idle: DaemonStatus = { running: false, pid: null, mode: null, startedAt: null, lastEventAt: null, events: 0, launches: 0, inProgress: 0 };
  if (live.state === 'stopped') return idle;
  if (live.state === 'stale') {
    if (clean) removeRuntimeFiles(paths);
    return { ...idle, pid: live.pid, stale: true };
  }
  const r = live.record;
  return {
    running: true,
    pid: live.pid,
    mode: r?.mode ?? null,
    ...(r?.mode === 'webhook' && typeof r.port === 'number' ? { port: r.port, bind: r.bind } : {}),
    ...(r ? { interval: r.interval } : {}),
    ...(r?.tunnel ? { tunnel: r.tunnel, tunnelState: r.tunnelState ?? 'connecting' } : {}),
    startedAt: r?.startedAt ?? null,
    ...(r ? { uptimeSeconds: Math.max(0, Math.round((Date.now() - Date.parse(r.startedAt)) / 1000)) } : {}),
    lastEventAt: r?.lastEventAt ?? null,
    events: r?.events ?? 0,
    launches: r?.launches ?? 0,
    inProgress: r?.inProgress ?? 0,
    rejected: r?.rejected ?? 0,
    ...(r && typeof r.maxRuns === 'number' ? { maxRuns: r.maxRuns } : {}),
    waiting: r?.waiting ?? 0,
    backoff: r?.backoff ?? [],
    ...(r?.effectiveInterval ? { effectiveInterval: r.effectiveInterval } : {}),
    stoppedByOperator: heldSince(team, r?.wokenAt ?? {}),
    ...(r && typeof r.maxRunsPerHour === 'number' ? { maxRunsPerHour: r.maxRunsPerHour } : {}),
    atCap: r?.atCap ?? [],
    idle: r?.idle ?? [],
    ignored: r?.ignored ?? 0,
    ignoredBy: r?.ignoredBy ?? {},
    identity: r?.identity ?? null,
    repos: r?.repos ?? [],
    board: r?.board ?? null,
    rules: r?.rules ?? [],
  };
}
