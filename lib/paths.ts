/**
 * Every path bm reads or writes, computed in one place (DESIGN §3).
 *
 * Callers pass names that already passed `validateName`; `inside()` is the second line of
 * defence and refuses any result that escapes its root.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BmError } from './output.ts';

/** The directory holding bm's package.json, profiles/, formations/ and skills/. */
export const BM_ROOT: string = findBmRoot(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname));

function findBmRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'profiles')) && existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start, '..');
    dir = parent;
  }
}

/** Built-in assets shipped with bm. */
export const builtins = {
  profiles: path.join(BM_ROOT, 'profiles'),
  formations: path.join(BM_ROOT, 'formations'),
  skills: path.join(BM_ROOT, 'skills'),
  profile: (name: string) => inside(path.join(BM_ROOT, 'profiles'), name),
};

/**
 * The user's home directory: $HOME, which os.homedir() also reads first, or else the password
 * database. node:os is loaded only then: loading it cost every command about 0.4 ms.
 */
export function userHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || process.getBuiltinModule('node:os').homedir();
}

/** Expands a leading `~` to the home directory and makes the path absolute. */
export function expandHome(p: string, home: string = userHome()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return path.resolve(p);
}

// @speed-only-begin: status asks for these dozens of times; enough path.resolve calls make V8
// optimize Node's path code at every run, which costs more than all of them.
const homes = new Map<string, string>();

/** `make()`, computed once for each `key` (which names all the result depends on). */
function once(key: string, make: () => string): string {
  let value = homes.get(key);
  if (value === undefined) homes.set(key, (value = make()));
  return value;
}

/** What resolving `dir` depends on: itself, and the working directory when it is relative. */
function resolving(dir: string | undefined): string {
  return dir && !dir.startsWith('/') ? `${dir} ${process.cwd()}` : `${dir}`;
}
// @speed-only-end

/** `BM_HOME` or `~/.botminter`. */
export function bmHome(env: NodeJS.ProcessEnv = process.env): string {
  return once(`home ${resolving(env.BM_HOME)} ${env.HOME}`, () => (env.BM_HOME ? path.resolve(env.BM_HOME) : path.join(userHome(env), '.botminter')));
}

/** bm's cache directory: `$XDG_CACHE_HOME/bm`, by default `~/.cache/bm`. Safe to delete. */
export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return once(`cache ${resolving(env.XDG_CACHE_HOME)} ${env.HOME}`, () => path.join(env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(userHome(env), '.cache'), 'bm'));
}

/** Files under BM_HOME. */
export const home = {
  config: () => path.join(bmHome(), 'config.yml'),
  state: () => path.join(bmHome(), 'state.json'),
  defaultWorkzone: () => path.join(bmHome(), 'workspaces'),
  logs: (team: string) => inside(path.join(bmHome(), 'logs'), team),
  memberLog: (team: string, member: string) => inside(inside(path.join(bmHome(), 'logs'), team), `${member}.log`),
  daemon: (team: string) => inside(path.join(bmHome(), 'daemon'), team),
};

/** Paths of one team, given its team dir `{workzone}/{team}`. */
export function teamPaths(teamDir: string) {
  const repo = path.join(teamDir, 'team');
  const members = path.join(repo, 'members');
  const projects = path.join(repo, 'projects');
  const formations = path.join(repo, 'formations');
  return {
    dir: teamDir,
    repo,
    manifest: path.join(repo, 'botminter.yml'),
    members,
    member: (member: string) => inside(members, member),
    project: (project: string) => inside(projects, project),
    formations,
    formation: (name: string) => inside(formations, name),
    skills: path.join(repo, 'skills'),
    topology: path.join(teamDir, 'topology.json'),
    /** Root of a member's workspaces: `{team dir}/{member}`. */
    memberRoot: (member: string) => inside(teamDir, member),
  };
}

export type TeamPaths = ReturnType<typeof teamPaths>;

// @speed-only-begin: a plain name joined by hand; path.resolve and path.relative cost ~0.1 ms a call cold, and status and start make dozens
/**
 * A relative path of plain segments: nothing but `[\w.@+,=-]`, no empty, `.` or `..` segment,
 * and not starting with `..` (which the check below refuses even as `..x`).
 */
const PLAIN_RELATIVE = /^(?!\.\.)(?!\.(?:\/|$))[\w.@+,=-]+(?:\/(?!\.\.?(?:\/|$))[\w.@+,=-]+)*$/;
const normalRoots = new Set<string>();

/** True when `root` is an absolute path that path.resolve leaves as it is (and not `/`). */
function isNormalRoot(root: string): boolean {
  if (normalRoots.has(root)) return true;
  if (path.sep !== '/' || root === '/' || path.resolve(root) !== root) return false;
  normalRoots.add(root);
  return true;
}
// @speed-only-end

/** Joins `name` onto `root` and refuses a result outside `root`. */
export function inside(root: string, name: string): string {
  if (PLAIN_RELATIVE.test(name) && isNormalRoot(root)) return `${root}/${name}`;
  const resolved = path.resolve(root, name);
  const rel = path.relative(root, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BmError(`Refusing path ${JSON.stringify(name)}: it leaves ${root}`, 'Use a plain name without `/` or `..`.');
  }
  return resolved;
}
