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
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readTextIfExists } from './files.ts';
import { cacheHome } from './paths.ts';

/**
 * One cached file: the text it was parsed from and the value. `checked` is what a check (a
 * schema) of one build of bm made of that value, and which check of which build (`stampOf`).
 */
interface Entry {
  file: string;
  text: string;
  value: unknown;
  checked?: Checked;
}

/** A check's verdict on a value: `by` names the check and the build, `value` is its output. */
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

declare const BM_BUILD: string | undefined;

/**
 * The build of bm that runs: tasks/build.mjs names each build in the bundles. The sources (run
 * by Deno) are named by the modification time of lib/schema.ts, where every named check is
 * declared, so an edit of a check drops the verdicts its old text gave. A watch build has no
 * name and no schema.ts beside it: it keeps no verdicts.
 */
export const build: { id: string | undefined } = { id: typeof BM_BUILD === 'string' ? BM_BUILD : statSync(new URL('./schema.ts', import.meta.url), { throwIfNoEntry: false })?.mtimeMs.toString() };

/**
 * Who checked a value: the check's name and the build. A verdict of one build is never trusted
 * by another, whose checks may differ; without a name or a build there are no verdicts.
 */
export function stampOf(name: string | undefined): string | undefined {
  return name && build.id ? `${name}@${build.id}` : undefined;
}

// Joined by hand (cacheHome() is absolute and normal, the name is hex): status makes dozens of
// these paths, and enough path.join calls make V8 optimize Node's path code at every run.
function entryPath(file: string): string {
  return `${cacheHome()}/parsed/${fnv(file)}.json`;
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

/** Remembers the value parsed from `text` of `file`, and what a check made of it. */
export function rememberValue(file: string, text: string, value: unknown, checked?: Checked): void {
  if (enabled()) writeEntry(entryPath(file), { file, text, value, checked } satisfies Entry);
}

/** What check `name` of this build made of exactly this `text` of `file`, if it ran before. */
export function checkedBefore(name: string, file: string, text: string): { value: unknown } | undefined {
  const by = stampOf(name);
  const checked = by ? cachedValue(file, text)?.checked : undefined;
  return checked && checked.by === by ? { value: checked.value } : undefined;
}

/** Remembers what check `name` of this build made of `text` of `file`: a value it accepted whole. */
export function rememberChecked(name: string, file: string, text: string, value: unknown): void {
  const by = stampOf(name);
  if (by) rememberValue(file, text, undefined, { by, value });
}

/**
 * For a file that may hold secrets, which the cache must not copy: only a verdict, keyed by a
 * fingerprint of the text, that check `by` accepted it. It spares the check, not the parse.
 */
interface Verdict {
  file: string;
  fingerprint: string;
  by: string;
}

function verdictPath(file: string): string {
  return `${cacheHome()}/parsed/${fnv(file)}.verdict.json`;
}

/**
 * The text's length and two unrelated 32-bit hashes of it (FNV-1a and a multiply-shift mix): an
 * edit that keeps all three is about one in 2^64. Both hashes share one pass over the text: right
 * after a sync, status fingerprints every workspace's ralph.yml, and a second pass cost ~1.5 ms.
 * (node:crypto or node:zlib would take longer to load than the pass.)
 */
function fingerprint(text: string): string {
  let fnv1a = 0x811c9dc5;
  let mixed = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    fnv1a = Math.imul(fnv1a ^ unit, 0x01000193);
    mixed = Math.imul(mixed ^ unit, 0x5bd1e995);
    mixed ^= mixed >>> 15;
  }
  const hex = (hash: number) => (hash >>> 0).toString(16).padStart(8, '0');
  return `${text.length}:${hex(fnv1a)}${hex(mixed)}`;
}

/** Whether check `name` of this build accepted exactly this `text` of `file` before. */
export function acceptedBefore(name: string, file: string, text: string): boolean {
  const by = stampOf(name);
  if (!by || !enabled()) return false;
  const verdict = readEntry<Verdict>(verdictPath(file), file);
  return verdict?.by === by && verdict.fingerprint === fingerprint(text);
}

/** Remembers that check `name` of this build accepted this `text` of `file`. */
export function rememberAccepted(name: string, file: string, text: string): void {
  const by = stampOf(name);
  if (by && enabled()) writeEntry(verdictPath(file), { file, fingerprint: fingerprint(text), by } satisfies Verdict);
}

/**
 * A value derived from a file that is read at every look but whose text must not be copied here
 * (a workspace's ralph.yml may hold a token): kept by the file's identity and times instead.
 * Any write changes the change time (ctime), which no program can set; a file written in the
 * last two seconds could still change within the same clock tick, so its value is kept with a
 * fingerprint of the text, and trusted only while the text still has it (`bm status` right after
 * `bm start` reads workspaces written a moment ago).
 */
interface IdentityEntry {
  file: string;
  identity: string;
  value: unknown;
  fingerprint?: string;
}

/**
 * `derive(text)` of `file`'s text, or what it gave before for the same file unchanged (undefined
 * when there is no such file); `purpose` names the value.
 */
export function keptByIdentity<T>(file: string, purpose: string, derive: (text: string) => T | undefined, now = Date.now()): T | undefined {
  const stat = enabled() ? statSync(file, { bigint: true, throwIfNoEntry: false }) : undefined;
  const key = `${file}#${purpose}`;
  const target = entryPath(key);
  const identity = stat && `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  const entry = identity ? readEntry<IdentityEntry>(target, key) : undefined;
  const same = entry !== undefined && entry.identity === identity;
  if (same && entry.fingerprint === undefined) return entry.value as T;
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  const settled = stat !== undefined && Number(stat.ctimeMs) < now - 2000;
  if (same && entry.fingerprint === fingerprint(text)) {
    if (settled) writeEntry(target, { file: key, identity, value: entry.value } satisfies IdentityEntry);
    return entry.value as T;
  }
  const value = derive(text);
  if (identity && value !== undefined) writeEntry(target, { file: key, identity, value, ...(settled ? {} : { fingerprint: fingerprint(text) }) } satisfies IdentityEntry);
  return value;
}
