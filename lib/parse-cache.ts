/**
 * A cache of parsed YAML, under BM_HOME/cache/parsed: one entry per file.
 *
 * Parsing YAML is the largest single cost of a short bm command: the yaml package runs cold in
 * every new process, and `bm members list` parses the team manifest and every member manifest,
 * which rarely change. An entry holds one text of one file and the plain value parsed from it;
 * any other text is parsed again, and comparing whole texts leaves no room for a false hit.
 * Only texts that parsed cleanly are remembered, and callers still validate the value against
 * their schema, so a newer bm never trusts an older shape. Files that hold secrets (the
 * operator config) must never come here.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { readTextIfExists } from './files.ts';
import { bmHome } from './paths.ts';

interface Entry {
  file: string;
  text: string;
  value: unknown;
}

/** A short, stable entry name for a path: FNV-1a (node:crypto would cost start-up under Deno). */
function entryPath(file: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < file.length; i++) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193) >>> 0;
  return path.join(bmHome(), 'cache', 'parsed', `${hash.toString(16).padStart(8, '0')}.json`);
}

function enabled(): boolean {
  return !process.env.BM_NO_PARSE_CACHE;
}

/** The value parsed earlier from exactly this `text` of `file`, if there is one. */
export function cachedValue(file: string, text: string): { value: unknown } | undefined {
  if (!enabled()) return undefined;
  try {
    const entry = JSON.parse(readTextIfExists(entryPath(file)) ?? 'null') as Entry | null;
    return entry?.file === file && entry.text === text ? { value: entry.value } : undefined;
  } catch {
    return undefined; // A torn or foreign entry is a miss.
  }
}

/** Remembers the value parsed from `text` of `file` (atomically; failures only cost speed). */
export function rememberValue(file: string, text: string, value: unknown): void {
  if (!enabled()) return;
  const target = entryPath(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(temp, JSON.stringify({ file, text, value } satisfies Entry));
    renameSync(temp, target);
  } catch {
    // A read-only BM_HOME only costs the speed-up.
  }
}
