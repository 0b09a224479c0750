/**
 * `journal.jsonl`: what the daemon did, one JSON object per line, for operators and tests.
 *
 *   {"ts":"<ISO>","type":"delivery","id":"<X-GitHub-Delivery>","event":"issues","action":"opened","outcome":"wake"}
 *   {"ts":"<ISO>","type":"run.start","member":"dev-alice","pid":4242,"reason":"issues opened"}
 *   {"ts":"<ISO>","type":"run.end","member":"dev-alice","pid":4242,"code":0,"ms":812}
 *
 * It outlives the daemon, so delivery ids seen before a restart are still recognised as
 * duplicates (GitHub redeliveries keep their id).
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

  constructor(file: string, maxBytes: number) {
    this.#out = new RotatingFile(file, maxBytes, 2);
  }

  /** Appends one entry. */
  add(entry: JournalEntry): void {
    this.#out.write(`${JSON.stringify({ ts: new Date().toISOString(), ...entry })}\n`);
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

/** Delivery ids accepted within the TTL, to refuse redeliveries after a restart. */
export function recentDeliveries(file: string, now = Date.now()): Set<string> {
  const seen = new Set<string>();
  for (const entry of readJournal(file)) {
    if (entry.type !== 'delivery' || typeof entry.id !== 'string' || entry.outcome === 'duplicate') continue;
    if (now - Date.parse(entry.ts) < DELIVERY_TTL_MS) seen.add(entry.id);
  }
  return seen;
}
