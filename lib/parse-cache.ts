/**
 * A cache of parsed YAML, under BM_HOME/cache/parsed: one entry per file.
 *
 * Parsing YAML is the largest single cost of a short bm command: the yaml package runs cold in
 * every new process, and `bm members list` parses the team manifest and every member manifest,
 * which rarely change. An entry holds one text of one file and the plain value parsed from it;
 * any other text is parsed again, and comparing whole texts leaves no room for a false hit.
 * Only texts that parsed cleanly are remembered, and callers still validate the value against
 * their schema, so a newer bm never trusts an older shape. A file that holds secrets (the
 * operator config) is cached without them: its entry keeps a digest instead of the text and a
 * value with the secrets taken out, which the caller reads from the file only when needed.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { readTextIfExists } from './files.ts';
import { bmHome } from './paths.ts';

/** One cached file: the text it was parsed from (or, for a file that holds secrets, a digest of it) and the value. */
interface Entry {
  file: string;
  text?: string;
  digest?: string;
  value: unknown;
}

/** Options of a cache lookup or store. */
export interface CacheOptions {
  /**
   * The file holds secrets (the operator config): the entry keeps a digest of the text instead
   * of the text, and the caller must hand `rememberValue` a value with the secrets taken out.
   */
  holdsSecrets?: boolean;
}

/** FNV-1a over the UTF-16 code units from an offset basis (node:crypto would cost start-up under Deno). */
function fnv(text: string, basis: number): string {
  let hash = basis;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** Identifies a text without keeping it: its length and two 32-bit hashes. */
function digestOf(text: string): string {
  return `${text.length}:${fnv(text, 0x811c9dc5)}${fnv(text, 0x2a7f3b1d)}`;
}

function entryPath(file: string): string {
  return path.join(bmHome(), 'cache', 'parsed', `${fnv(file, 0x811c9dc5)}.json`);
}

function enabled(): boolean {
  return !process.env.BM_NO_PARSE_CACHE;
}

/** The value parsed earlier from exactly this `text` of `file`, if there is one. */
export function cachedValue(file: string, text: string, options: CacheOptions = {}): { value: unknown } | undefined {
  if (!enabled()) return undefined;
  try {
    const entry = JSON.parse(readTextIfExists(entryPath(file)) ?? 'null') as Entry | null;
    if (entry?.file !== file) return undefined;
    const same = options.holdsSecrets ? entry.text === undefined && entry.digest === digestOf(text) : entry.text === text;
    return same ? { value: entry.value } : undefined;
  } catch {
    return undefined; // A torn or foreign entry is a miss.
  }
}

/** Remembers the value parsed from `text` of `file` (atomically, mode 0600; failures only cost speed). */
export function rememberValue(file: string, text: string, value: unknown, options: CacheOptions = {}): void {
  if (!enabled()) return;
  const target = entryPath(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const entry: Entry = options.holdsSecrets ? { file, digest: digestOf(text), value } : { file, text, value };
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, target);
  } catch {
    // A read-only BM_HOME only costs the speed-up.
  }
}
