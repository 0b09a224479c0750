/**
 * `BM_HOME/daemon/<team>/stopped.json`: the members the operator stopped, and when.
 *
 *   { "dev-alice": "<ISO>", "dev-bob/widget": "<ISO>" }
 *
 * Keys are member names, or the `<member>/<project>` keys `bm stop` was given (a plain `bm stop`
 * records every hired member). `bm stop` writes it before it stops anything, so the daemon knows, when a run of
 * that member ends, that the operator ended it: no failure, no retry. Until an event arrives
 * after the stop, the daemon launches none of those members; `bm start` of a member lifts its
 * hold. The file outlives the daemon, so a daemon started later honours the stop too.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readTextIfExists, withFileLock, writeFileAtomic } from '../files.ts';
import { home } from '../paths.ts';

/** One member held by an operator stop. */
export interface Hold {
  member: string;
  /** ISO time of the stop. */
  since: string;
}

function holdsFile(team: string): string {
  return path.join(home.daemon(team), 'stopped.json');
}

function parse(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  try {
    const data = JSON.parse(text) as unknown;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return {};
    return Object.fromEntries(Object.entries(data).filter(([, v]) => typeof v === 'string' && !Number.isNaN(Date.parse(v))));
  } catch {
    return {};
  }
}

/** The operator stops of a team (a missing or unreadable file holds nobody). */
export function readHolds(team: string): Record<string, string> {
  return parse(readTextIfExists(holdsFile(team)));
}

function update(team: string, change: (holds: Record<string, string>) => void): void {
  const file = holdsFile(team);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  withFileLock(file, () => {
    const holds = parse(readTextIfExists(file));
    change(holds);
    writeFileAtomic(file, `${JSON.stringify(holds, null, 2)}\n`, 0o600);
  });
}

/** Records that the operator stopped `members` (names or `<member>/<project>` keys) now. */
export function recordStop(team: string, members: readonly string[]): void {
  const now = new Date().toISOString();
  update(team, (holds) => {
    for (const m of members) holds[m] = now;
  });
}

/** Lifts the holds of `members` (names): they were started again. */
export function liftHolds(team: string, members: readonly string[]): void {
  const held = Object.keys(readHolds(team));
  const lifted = (key: string) => members.some((m) => key === m || key.startsWith(`${m}/`));
  if (!held.some(lifted)) return;
  update(team, (holds) => {
    for (const key of Object.keys(holds)) if (lifted(key)) delete holds[key];
  });
}

/** When the operator last stopped the member of slot `key` (epoch ms), or undefined. */
export function stoppedAt(holds: Record<string, string>, key: string): number | undefined {
  const times = [holds[key], holds[key.split('/')[0]]].filter((t): t is string => t !== undefined).map(Date.parse);
  return times.length ? Math.max(...times) : undefined;
}

/**
 * The holds still in force: stopped by the operator after new work last woke the member (`wokenAt`
 * maps slot keys to ISO times).
 */
export function heldSince(team: string, wokenAt: Record<string, string>): Hold[] {
  const woken = (held: string) => Math.max(0, ...Object.entries(wokenAt)
    .filter(([key]) => key === held || key.split('/')[0] === held || held.split('/')[0] === key)
    .map(([, at]) => Date.parse(at)));
  return Object.entries(readHolds(team))
    .filter(([member, since]) => Date.parse(since) >= woken(member))
    .map(([member, since]) => ({ member, since }))
    .sort((a, b) => a.member.localeCompare(b.member));
}
