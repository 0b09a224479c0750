/**
 * `BM_HOME/state.json`: the member processes bm launched, for every team.
 *
 *   { "members": { "<team>/<key>": { team, member, project, pid, started, started_at, workspace, log } } }
 *
 * `<key>` is the member name when each member has one workspace (a team with zero or one
 * project) and `<member>/<project>` when the team has several projects. `started` is the
 * process start-time token from lib/proc.ts (identity, not for display); `started_at` is the
 * wall-clock launch time (ISO 8601).
 *
 * Every change is a read-modify-write under `state.json.lock`, written atomically, so two bm
 * commands at once never lose an entry. A torn or hand-mangled file is reported, kept aside as
 * `state.json.corrupt` and treated as empty: bm never crashes on it.
 */
import { copyFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { schema, type Infer } from './zod.ts';
import { readTextIfExists, withFileLock, writeFileAtomic } from './files.ts';
import { acceptName } from './names.ts';
import { BmError, warn } from './output.ts';
import { checkedBefore, rememberChecked } from './parse-cache.ts';
import { home } from './paths.ts';
import { isOurs } from './proc.ts';
import type { TmuxPlace } from './tmux.ts';

const entrySchema = schema((z) => z.looseObject({
  team: z.optional(z.string()),
  member: z.optional(z.string()),
  project: z.optional(z.nullable(z.string())),
  pid: z.number(),
  started: z.optional(z.string()),
  started_at: z.optional(z.string()),
  workspace: z.string(),
  log: z.optional(z.string()),
}));

/** One launched member process. */
export interface StateEntry {
  team: string;
  member: string;
  project: string | null;
  pid: number;
  /** Process start-time token (lib/proc.ts); empty when it could not be read. */
  started: string;
  /** ISO 8601 launch time. */
  started_at: string;
  workspace: string;
  log?: string;
  /** `daemon` for a one-shot run the daemon launched (absent for `bm start`). */
  by?: 'daemon';
  /** Where it runs in tmux (`bm start --tmux`, lib/tmux.ts). */
  tmux?: TmuxPlace;
}

/** The whole state file. */
export interface State {
  members: Record<string, StateEntry>;
}

/** The state key of a member workspace: `<team>/<key>`. */
export function stateKey(team: string, key: string): string {
  return `${team}/${key}`;
}

function normalise(key: string, raw: Infer<typeof entrySchema>): StateEntry {
  const [team, member, project] = key.split('/');
  return {
    ...raw,
    team: raw.team ?? team,
    member: raw.member ?? member ?? '',
    project: raw.project ?? project ?? null,
    started: raw.started ?? '',
    started_at: raw.started_at ?? '',
  };
}

function parseState(text: string, file: string): { state: State; corrupt: boolean } {
  // @speed-only-begin: status and start read the same state at every look; checking it is most of the cost.
  const known = checkedBefore('state', file, text);
  if (known) return { state: { members: known.value as Record<string, StateEntry> }, corrupt: false };
  // @speed-only-end
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    warn(`${file} is not valid JSON (${(error as Error).message}); treating it as empty.`);
    return { state: { members: {} }, corrupt: true };
  }
  const members: Record<string, StateEntry> = {};
  const raw = (data as { members?: unknown } | null)?.members;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    if (data !== null && typeof data === 'object' && Object.keys(data).length === 0) return { state: { members }, corrupt: false };
    warn(`${file} has no "members" object; treating it as empty.`);
    return { state: { members }, corrupt: true };
  }
  let dropped = 0;
  for (const [key, value] of Object.entries(raw)) {
    const parsed = entrySchema().safeParse(value);
    const entry = parsed.success ? normalise(key, parsed.data) : undefined;
    if (entry && namesAcceptable(entry, file)) members[key] = entry;
    else dropped++;
  }
  if (dropped > 0) warn(`${file}: ignored ${dropped} malformed entr${dropped === 1 ? 'y' : 'ies'}.`);
  else rememberChecked('state', file, text, members);
  return { state: { members }, corrupt: dropped > 0 };
}

/** An entry's names become table rows and paths: each must pass the one name check. */
function namesAcceptable(entry: StateEntry, file: string): boolean {
  return acceptName('team', entry.team, file) && acceptName('member', entry.member, file) && (entry.project === null || acceptName('project', entry.project, file));
}

/**
 * The state file's text. One that cannot be read as bm's (over the size cap, not a regular
 * file) is reported and read as empty: it must never keep `bm stop` from stopping members,
 * which it finds through topology.json and the workspaces too.
 */
function stateText(file: string): { text: string | undefined; unreadable: boolean } {
  try {
    return { text: readTextIfExists(file), unreadable: false };
  } catch (error) {
    if (!(error instanceof BmError)) throw error;
    warn(`${error.message}; treating the state as empty.`);
    return { text: undefined, unreadable: true };
  }
}

/** Reads the state; a missing file is empty, a corrupt one is reported and read as empty. */
export function readState(file: string = home.state()): State {
  const { text } = stateText(file);
  return text === undefined ? { members: {} } : parseState(text, file).state;
}

/** Removes temp files left by writers that were killed mid-write. */
function cleanTempFiles(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && pidExists(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Read-modify-write of the state under its lock. `change` edits the state in place and returns
 * a result; the file is rewritten only when the state changed (or the old file was corrupt).
 */
export function updateState<T>(change: (state: State) => T, file: string = home.state()): T {
  return withFileLock(file, () => {
    cleanTempFiles(file);
    const { text, unreadable } = stateText(file);
    const { state, corrupt } = text === undefined ? { state: { members: {} }, corrupt: false } : parseState(text, file);
    if (unreadable) {
      // Moved aside, not copied: it may be huge.
      rmSync(`${file}.corrupt`, { recursive: true, force: true });
      renameSync(file, `${file}.corrupt`);
    } else if (corrupt) {
      try {
        copyFileSync(file, `${file}.corrupt`);
      } catch {
        // Best effort: the warning above already named the problem.
      }
    }
    const before = JSON.stringify(state);
    const result = change(state);
    if (unreadable || corrupt || JSON.stringify(state) !== before) writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, 0o600);
    return result;
  });
}

/** The entries of one team, keyed by member key (the part after `<team>/`). */
export function teamEntries(state: State, team: string): Map<string, StateEntry> {
  const entries = new Map<string, StateEntry>();
  const prefix = `${team}/`;
  for (const [key, entry] of Object.entries(state.members)) {
    if (key.startsWith(prefix)) entries.set(key.slice(prefix.length), entry);
  }
  return entries;
}

/**
 * Run state per member of `team` from state.json alone (no health checks beyond the pid, no
 * clean-up): `running` if any of its workspaces runs, `crashed` if one is recorded but gone.
 * Here rather than in lifecycle/status.ts so that `bm members list` stays light.
 */
export function memberRunStates(team: string): Map<string, 'running' | 'crashed'> {
  const states = new Map<string, 'running' | 'crashed'>();
  for (const entry of teamEntries(readState(), team).values()) {
    if (isOurs(entry.pid, entry.started)) states.set(entry.member, 'running');
    else if (!states.has(entry.member)) states.set(entry.member, 'crashed');
  }
  return states;
}
