/**
 * Waiting for a condition in tests. A deadline is only an upper bound on a wait for something
 * that must happen, so it is stretched by `BM_TEST_SLACK` (default 3): on a loaded machine (a CI
 * box running other jobs) processes start slowly, and a tight deadline would fail a correct
 * product. A passing test never waits longer for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';
import * as assert from 'uvu/assert';

const SLACK = Number(process.env.BM_TEST_SLACK) > 0 ? Number(process.env.BM_TEST_SLACK) : 3;

/** Polls `condition` until it holds, or fails the test naming `what` after `timeoutMs` × slack. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs * SLACK;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(condition(), `timed out waiting for ${what} (${Math.round((timeoutMs * SLACK) / 1000)} s)`);
}

/**
 * The records of a JSON-lines file that another process appends to while the test waits (none
 * before it exists). A last line still being written, without its newline yet, is left for the
 * next look rather than failing to parse.
 */
export function jsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}
