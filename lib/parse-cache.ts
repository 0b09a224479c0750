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

/** One cached file: the text it was parsed from and the value. */
interface Entry {
  file: string;
  text: string;
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

/** Remembers the value parsed from `text` of `file` (atomically, mode 0600; failures only cost speed). */
export function rememberValue(file: string, text: string, value: unknown): void {
  if (!enabled()) return;
  const target = entryPath(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(temp, JSON.stringify({ file, text, value } satisfies Entry), { mode: 0o600 });
    renameSync(temp, target);
  } catch {
    // A read-only cache directory only costs the speed-up.
  }
}
