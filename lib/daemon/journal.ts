/**
 * `journal.jsonl`: what the daemon did, one JSON object per line, for operators and tests.
 *
 *   {"ts":"<ISO>","type":"delivery","id":"<X-GitHub-Delivery>","event":"issues","action":"opened","outcome":"wake"}
 *   {"ts":"<ISO>","type":"run.start","member":"dev-alice","pid":4242,"reason":"issues opened"}
 *   {"ts":"<ISO>","type":"run.end","member":"dev-alice","pid":4242,"code":0,"ms":812}
 *   {"ts":"<ISO>","type":"run.backoff","member":"dev-alice","failures":2,"waitMs":19000,"retrying":true}
 *
 * and `start`, `stop` (`unfinished` when runs were cut short), `recover`, `poll`, `rejected`,
 * `run.wait` (the run cap), `run.skip`, `run.error`, `run.timeout`, `run.recovered`.
 *
 * It outlives the daemon, so delivery ids seen before a restart are still recognised as
 * duplicates (GitHub redeliveries keep their id), and work a previous daemon acknowledged but
 * did not finish (it died, or stopped with runs in progress) is found and run at the next start.
 *
 * A delivery's line is written (one write(2), no fsync) BEFORE its 2xx answer: it survives a
 * crash of the daemon, so an acknowledged delivery is neither lost nor run twice. Losing the
 * page cache (a crash of the machine) can lose the last lines; the reconcile poll covers that.
 */
import { readFileSync } from 'node:fs';
import { RotatingFile } from './log.ts';

/** One journal line (the `ts` is added on write). */
export interface JournalEntry {
  type: string;
  [field: string]: unknown;
}

/** How long a delivery id is remembered: GitHub redelivers up to 3 days (7 on GHES) later. */
export const DELIVERY_TTL_MS = 8 * 24 * 60 * 60 * 1000;

/** The daemon's journal. */
export class Journal {
  readonly #out: RotatingFile;
  /** Called with each entry after it is written (the daemon's notifications watch runs here). */
  readonly listeners: ((entry: JournalEntry) => void)[] = [];

  constructor(file: string, maxBytes: number) {
    this.#out = new RotatingFile(file, maxBytes, 2);
  }

  /** Appends one entry. */
  add(entry: JournalEntry): void {
    this.#out.write(`${JSON.stringify({ ts: new Date().toISOString(), ...entry })}\n`);
    for (const listener of this.listeners) listener(entry);
  }

  close(): void {
    this.#out.close();
  }
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** Reads a journal (and its rotated copies, oldest first); unparseable lines are skipped. */
export function readJournal(file: string): (JournalEntry & { ts: string })[] {
  const entries: (JournalEntry & { ts: string })[] = [];
  for (const name of [`${file}.2`, `${file}.1`, file]) {
    for (const line of lines(name)) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as JournalEntry & { ts: string };
        if (entry && typeof entry.type === 'string') entries.push(entry);
      } catch {
        // A torn last line from a killed daemon.
      }
    }
  }
  return entries;
}

type Entries = (JournalEntry & { ts: string })[];

/** Delivery ids accepted within the TTL, to refuse redeliveries after a restart. */
export function recentDeliveries(source: string | Entries, now = Date.now()): Set<string> {
  const seen = new Set<string>();
  for (const entry of typeof source === 'string' ? readJournal(source) : source) {
    if (entry.type !== 'delivery' || typeof entry.id !== 'string' || entry.outcome === 'duplicate') continue;
    if (now - Date.parse(entry.ts) < DELIVERY_TTL_MS) seen.add(entry.id);
  }
  return seen;
}

/** True for a journal line of work that woke the team. */
function woke(e: Entries[number]): boolean {
  return (e.type === 'delivery' && e.outcome === 'wake') || (e.type === 'poll' && ((typeof e.waking === 'number' && e.waking > 0) || e.gap === true))
    || (e.type === 'board.poll' && typeof e.moves === 'number' && e.moves > 0);
}

/** When the last work that woke the team arrived (epoch ms), or 0. */
export function lastWorkAt(entries: Entries): number {
  const last = entries.findLast(woke);
  return last ? Date.parse(last.ts) || 0 : 0;
}

/**
 * What the previous daemon left undone, or undefined: it woke the team after its last start and
 * then died (no `stop` line), or stopped while runs were in progress or waiting. Work is not
 * tracked per member: one more run of every member covers it, as members scan all work.
 */
export function unfinishedWork(entries: Entries): string | undefined {
  let start = -1;
  for (let i = entries.length - 1; i >= 0 && start < 0; i--) if (entries[i].type === 'start') start = i;
  if (start < 0) return undefined;
  const since = entries.slice(start + 1);
  if (!since.some(woke)) return undefined;
  const stop = since.find((e) => e.type === 'stop');
  if (!stop) return 'the previous daemon died after acknowledging work';
  return stop.unfinished === true ? 'the previous daemon was stopped with runs in progress or waiting' : undefined;
}
