/**
 * A cache of parsed YAML for team and profile files, under `$XDG_CACHE_HOME/bm/parsed` (default
 * `~/.cache/bm/parsed`): one entry per file.
 *
 * Parsing YAML is the largest single cost of a short bm command: the yaml package runs cold in
 * every new process, and `bm members list` parses the team manifest and every member manifest,
 * which rarely change. An entry holds one text of one file and the plain value parsed from it;
 * any other text is parsed again, and comparing whole texts leaves no room for a false hit.
 * Only texts that parsed cleanly are remembered, and callers still validate the value against
 * their schema, so a newer bm never trusts an older shape. Files that hold secrets (the operator
 * config, a kubeconfig) never come here.
 *
 * @speed-only: skips the cold YAML parse of unchanged team files (about 0.8x of `node -e 0`).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readTextIfExists } from './files.ts';
import { cacheHome } from './paths.ts';

/**
 * One cached file: the text it was parsed from and the value. `checked` is what a schema of this
 * build of bm made of that value, and which one (`by`, see `checkStamp` in lib/schema.ts).
 */
interface Entry {
  file: string;
  text: string;
  value: unknown;
  checked?: Checked;
}

/** A schema's verdict on a value: `by` names the schema and the build, `value` is its output. */
export interface Checked {
  by: string;
  value: unknown;
}

/** FNV-1a over the UTF-16 code units: a short, stable file name for an entry. */
function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

function entryPath(file: string): string {
  return path.join(cacheHome(), 'parsed', `${fnv(file)}.json`);
}

function enabled(): boolean {
  return !process.env.BM_NO_PARSE_CACHE;
}

function readEntry<T extends { file: string }>(target: string, file: string): T | undefined {
  try {
    const entry = JSON.parse(readTextIfExists(target) ?? 'null') as T | null;
    return entry?.file === file ? entry : undefined;
  } catch {
    return undefined; // A torn or foreign entry is a miss.
  }
}

/** Writes an entry atomically, mode 0600; failures only cost speed. */
function writeEntry(target: string, entry: object): void {
  const temp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, target);
  } catch {
    // A read-only cache directory only costs the speed-up.
  }
}

/** The value parsed earlier from exactly this `text` of `file`, and its last verdict, if there is one. */
export function cachedValue(file: string, text: string): { value: unknown; checked?: Checked } | undefined {
  if (!enabled()) return undefined;
  const entry = readEntry<Entry>(entryPath(file), file);
  return entry?.text === text ? { value: entry.value, checked: entry.checked } : undefined;
}

/** Remembers the value parsed from `text` of `file`, and what a schema made of it. */
export function rememberValue(file: string, text: string, value: unknown, checked?: Checked): void {
  if (enabled()) writeEntry(entryPath(file), { file, text, value, checked } satisfies Entry);
}

/**
 * For a file that may hold secrets, which the cache must not copy: only a verdict, keyed by a
 * fingerprint of the text, that schema `by` accepted it. It spares the schema check, not the parse.
 */
interface Verdict {
  file: string;
  fingerprint: string;
  by: string;
}

function verdictPath(file: string): string {
  return path.join(cacheHome(), 'parsed', `${fnv(file)}.verdict.json`);
}

/**
 * The text's length and two unrelated 32-bit hashes of it: an edit that keeps all three is
 * about one in 2^64. (node:crypto would take longer to load than the check it spares.)
 */
function fingerprint(text: string): string {
  let mixed = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    mixed = Math.imul(mixed ^ text.charCodeAt(i), 0x5bd1e995);
    mixed ^= mixed >>> 15;
  }
  return `${text.length}:${fnv(text)}${(mixed >>> 0).toString(16).padStart(8, '0')}`;
}

/** Whether schema `by` accepted exactly this `text` of `file` before. */
export function acceptedBefore(file: string, text: string, by: string): boolean {
  if (!enabled()) return false;
  const verdict = readEntry<Verdict>(verdictPath(file), file);
  return verdict?.by === by && verdict.fingerprint === fingerprint(text);
}

/** Remembers that schema `by` accepted this `text` of `file`. */
export function rememberAccepted(file: string, text: string, by: string): void {
  if (enabled()) writeEntry(verdictPath(file), { file, fingerprint: fingerprint(text), by } satisfies Verdict);
}
