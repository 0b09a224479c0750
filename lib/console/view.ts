/**
 * What `bm console` shows: one snapshot of the team (the `bm status --json` answer, each member's
 * last output line and restarts, the daemon and its recent journal), rebuilt when the files it
 * comes from change.
 *
 * Changes are noticed by watching the directories of those files (state.json, topology.json,
 * the daemon's files, the member logs, the team repo's members/): every one of them is replaced
 * by rename or appended to, and a directory watch sees both. A process that dies changes no file,
 * so the running local members' pids are looked at every second (a /proc read each), and the
 * whole view is rebuilt every 10 s for what no file or pid tells (a remote pod's health).
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { daemonPaths, daemonStatus, type DaemonStatus } from '../daemon/files.ts';
import type { JournalEntry } from '../daemon/journal.ts';
import { forgetLooks } from '../endpoints/k8s.ts';
import type { GitHubView } from './github.ts';
import { endpointLabel, teamStatus, type TeamStatus } from '../lifecycle/status.ts';
import { readAppended, tailLines, type LogPosition } from '../logs.ts';
import { bmHome, home } from '../paths.ts';
import { isOurs } from '../proc.ts';
import { loadTeam, type Team } from '../team.ts';

/** What the page adds to a member's status row: where it runs, and what its log says. */
export interface MemberOutput {
  /** The endpoint as `bm status` labels it (`—` when it runs nowhere). */
  where: string;
  lastLine: string | null;
  /** The log's modification time. */
  lastOutputAt: string | null;
  /** How many times `bm start` (or the console) started it again after its first start. */
  restarts: number;
}

/** One snapshot of everything the page shows. */
export interface ConsoleView {
  /** Exactly what `bm status --json` prints. */
  status: TeamStatus;
  /** Per member key. */
  output: Record<string, MemberOutput>;
  /** The team's GitHub repository, when it has one. */
  githubRepo: string | null;
  /** Exactly what `bm daemon status --json` prints (without removing a dead daemon's files). */
  daemon: DaemonStatus;
  /** The daemon journal's last lines, newest last. */
  journal: (JournalEntry & { ts: string })[];
  /** The inbox and the board, for a team with a GitHub repository; else null. */
  github: GitHubView | null;
  readOnly: boolean;
}

/** How many journal lines the page shows. */
export const JOURNAL_LINES = 30;

/** The banner `bm start` writes into a member's log before each launch (lib/lifecycle/start.ts). */
const START_BANNER = /^--- \S+ bm start: /;
/** Log bytes read when a log is first seen: enough for its last line and recent restarts. */
const FIRST_READ_BYTES = 1024 * 1024;

interface LogSummary {
  position: LogPosition;
  starts: number;
  lastLine: string | null;
  /** The part of a line not yet ended by a newline. */
  partial: string;
}

/** Reads member logs incrementally: only what was appended since the last look. */
export class LogTracker {
  readonly #logs = new Map<string, LogSummary>();

  /** The last line and the start count of `file`, up to date. */
  summary(file: string): LogSummary {
    let known = this.#logs.get(file);
    if (!known) {
      const { ino, size } = statOf(file);
      known = { position: { ino, offset: Math.max(0, size - FIRST_READ_BYTES) }, starts: 0, lastLine: null, partial: '' };
      this.#logs.set(file, known);
    }
    const appended = readAppended(file, known.position);
    // Another file at that path (rotated) or a shorter one (truncated): count afresh.
    if (appended.position.ino !== known.position.ino || appended.position.offset < known.position.offset) Object.assign(known, { starts: 0, lastLine: null, partial: '' });
    known.position = appended.position;
    if (appended.data.length > 0) {
      const lines = (known.partial + appended.data.toString('utf8')).split('\n');
      known.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (START_BANNER.test(line)) known.starts++;
        if (line.trim() !== '') known.lastLine = line;
      }
    }
    return known;
  }
}

function statOf(file: string): { ino: number; size: number } {
  try {
    return statSync(file);
  } catch {
    return { ino: -1, size: 0 };
  }
}

function mtimeOf(file: string): string | null {
  try {
    return statSync(file).mtime.toISOString();
  } catch {
    return null;
  }
}

/**
 * The journal's last lines, read from its end (the whole journal can be megabytes); the rotated
 * copy is read only when the current file is short.
 */
function recentJournal(file: string): (JournalEntry & { ts: string })[] {
  const entries: (JournalEntry & { ts: string })[] = [];
  for (const name of [file, `${file}.1`]) {
    const lines = tailLines(name, JOURNAL_LINES - entries.length, 256 * 1024);
    const parsed = lines.flatMap((line) => {
      try {
        const entry = JSON.parse(line) as JournalEntry & { ts: string };
        return entry && typeof entry.type === 'string' && typeof entry.ts === 'string' ? [entry] : [];
      } catch {
        return [];
      }
    });
    entries.unshift(...parsed);
    if (entries.length >= JOURNAL_LINES) break;
  }
  return entries.slice(-JOURNAL_LINES);
}

/** Builds one snapshot of `team` (reloaded, so newly hired members appear). */
export async function buildView(team: Team, logs: LogTracker, readOnly: boolean, github: GitHubView | null): Promise<ConsoleView> {
  const fresh = loadTeam(team.entry);
  // A cluster's answer serves one snapshot: the next one reads the pods anew.
  forgetLooks();
  // The console only looks: crashed members are left for `bm status` to report and forget.
  const status = await teamStatus(fresh, { clean: false });
  const output: Record<string, MemberOutput> = {};
  for (const m of status.members) {
    const where = endpointLabel(m);
    if (!m.log) {
      output[m.key] = { where, lastLine: null, lastOutputAt: null, restarts: 0 };
      continue;
    }
    const log = logs.summary(m.log);
    const line = log.partial.trim() !== '' ? log.partial : log.lastLine;
    output[m.key] = { where, lastLine: line ? line.slice(0, 500) : null, lastOutputAt: mtimeOf(m.log), restarts: Math.max(0, log.starts - 1) };
  }
  return {
    status,
    output,
    githubRepo: fresh.entry.github_repo ?? null,
    daemon: daemonStatus(fresh.name, { clean: false }),
    journal: recentJournal(daemonPaths(fresh.name).journal),
    github,
    readOnly,
  };
}

/** The directories whose changes can change the view. */
export function watchedDirs(team: Team): string[] {
  return [bmHome(), team.paths.dir, team.paths.members, daemonPaths(team.name).dir, home.logs(team.name)];
}

/** When `watchTeam` looks again without being told. */
export interface WatchTiming {
  /** Wait after a change before rebuilding, so a burst of writes makes one rebuild. */
  settleMs?: number;
  /** Least time between two rebuilds: a member streaming output must not keep the console busy. */
  minGapMs?: number;
  /** How often `died()` is asked whether a recorded process is gone (no file tells). */
  livenessMs?: number;
  /** A full rebuild this often all the same: remote health (k8s) and time-based states. */
  fullMs?: number;
}

/** Whether a member the view shows as running on this machine has died since. */
export function localDeath(view: ConsoleView): boolean {
  return view.status.members.some((m) => m.status === 'running' && m.endpoint?.type === 'local' && !isOurs(m.endpoint.pid, m.endpoint.started));
}

/**
 * Calls `onChange` whenever something in the team's watched directories changes (coalesced and
 * throttled), when `died()` says a process is gone, and every `fullMs`. Directories that do not
 * exist yet are watched once they appear. Returns the stop function.
 */
export function watchTeam(team: Team, onChange: () => void, died: () => boolean, timing: WatchTiming = {}): () => void {
  const { settleMs = 30, minGapMs = 200, livenessMs = 1000, fullMs = 10_000 } = timing;
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const changed = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      last = Date.now();
      onChange();
    }, Math.max(settleMs, last + minGapMs - Date.now()));
  };
  const attach = () => {
    for (const dir of watchedDirs(team)) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, changed);
        watcher.on('error', () => {
          watcher.close();
          watchers.delete(dir);
        });
        watchers.set(dir, watcher);
      } catch {
        // Not there yet: the next tick tries again.
      }
    }
  };
  attach();
  const liveness = setInterval(() => {
    attach();
    if (died()) changed();
  }, livenessMs);
  const full = setInterval(changed, fullMs);
  return () => {
    clearInterval(liveness);
    clearInterval(full);
    if (timer) clearTimeout(timer);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}
