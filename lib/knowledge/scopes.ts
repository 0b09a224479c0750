/**
 * The knowledge hierarchy of a team repo: which knowledge and invariant directories exist, who
 * they apply to, and which files they hold.
 *
 * | scope          | knowledge and invariants under                  |
 * |----------------|-------------------------------------------------|
 * | team           | `knowledge/`, `invariants/`                     |
 * | project        | `projects/<p>/…`                                |
 * | member         | `members/<m>/…`                                 |
 * | member-project | `members/<m>/projects/<p>/…`                    |
 *
 * A member working on a project sees all four, broadest first. Paths are relative to the team
 * repo with `/` separators, as printed and as accepted by `bm knowledge show`.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { BmError, UsageError } from '../output.ts';
import { acceptNames } from '../names.ts';
import { subdirs } from '../profiles.ts';
import { memberNames, projectsOf, type Team } from '../team.ts';

/** The scope kinds, broadest first. */
export const SCOPES = ['team', 'project', 'member', 'member-project'] as const;
export type ScopeKind = (typeof SCOPES)[number];

/** The two kinds of directory in every scope. */
export const KINDS = ['knowledge', 'invariants'] as const;
export type Kind = (typeof KINDS)[number];

/** One scope: who it applies to and where its directories are. */
export interface Scope {
  scope: ScopeKind;
  member?: string;
  project?: string;
  /** The scope's directory relative to the team repo (`''` for the team scope). */
  base: string;
}

/** A scope with its files (paths relative to the team repo). */
export interface ScopeListing extends Scope {
  knowledge: string[];
  invariants: string[];
}

/** Narrows a listing to one scope kind and/or one member and/or one project. */
export interface ScopeFilter {
  scope?: ScopeKind;
  member?: string;
  project?: string;
}

/** Checks a `--scope` value; unknown values list the valid ones. */
export function parseScope(value: string | undefined): ScopeKind | undefined {
  if (value === undefined) return undefined;
  if ((SCOPES as readonly string[]).includes(value)) return value as ScopeKind;
  throw new UsageError(`Unknown scope '${value}'`, `Valid scopes: ${SCOPES.join(', ')}.`);
}

/** A scope directory, e.g. `projects/widget/invariants`. */
export function scopeDir(scope: Scope, kind: Kind): string {
  return scope.base ? `${scope.base}/${kind}` : kind;
}

/** A human name for a scope: `team`, `project widget`, `member dev-alice`, `member+project dev-alice/widget`. */
export function scopeLabel(scope: Pick<Scope, 'scope' | 'member' | 'project'>): string {
  switch (scope.scope) {
    case 'team': return 'team';
    case 'project': return `project ${scope.project}`;
    case 'member': return `member ${scope.member}`;
    case 'member-project': return `member+project ${scope.member}/${scope.project}`;
  }
}

/** The team's projects: the manifest's plus any directory under `projects/`, sorted. */
export function projectNames(team: Team): string[] {
  const names = new Set([...projectsOf(team).map((p) => p.name), ...acceptNames('project', subdirs(path.join(team.paths.repo, 'projects')), path.join(team.paths.repo, 'projects'))]);
  return [...names].sort();
}

/** Fails unless `member` is a hired member; lists the members otherwise. */
export function requireMember(team: Team, member: string): string {
  const members = memberNames(team);
  if (!members.includes(member)) {
    throw new BmError(`Member '${member}' not found in team '${team.name}'`, members.length ? `Members: ${members.join(', ')}.` : 'Run `bm hire <role>` to hire one.');
  }
  return member;
}

/** Fails unless `project` is one of the team's projects; lists them otherwise. */
export function requireProject(team: Team, project: string): string {
  const projects = projectNames(team);
  if (!projects.includes(project)) {
    throw new BmError(`Project '${project}' not found in team '${team.name}'`, projects.length ? `Projects: ${projects.join(', ')}.` : 'Run `bm projects add <git-url>` to add one.');
  }
  return project;
}

/**
 * Every scope of the team, broadest first: team, each project, each member, each member on each
 * project. A filter keeps the scopes of one kind, member or project; `member` plus `project`
 * gives the stack that member sees on that project.
 */
export function teamScopes(team: Team, filter: ScopeFilter = {}): Scope[] {
  const projects = projectNames(team);
  const members = memberNames(team);
  const scopes: Scope[] = [{ scope: 'team', base: '' }];
  for (const project of projects) scopes.push({ scope: 'project', project, base: `projects/${project}` });
  for (const member of members) scopes.push({ scope: 'member', member, base: `members/${member}` });
  for (const member of members) {
    const ownDir = path.join(team.paths.member(member), 'projects');
    const own = acceptNames('project', subdirs(ownDir), ownDir);
    for (const project of [...new Set([...projects, ...own])].sort()) {
      scopes.push({ scope: 'member-project', member, project, base: `members/${member}/projects/${project}` });
    }
  }
  return scopes.filter((s) =>
    (!filter.scope || s.scope === filter.scope) &&
    (!filter.member || s.member === undefined || s.member === filter.member) &&
    (!filter.project || s.project === undefined || s.project === filter.project));
}

/** One file found under a scope directory. */
export interface FoundFile {
  /** Path relative to the team repo. */
  path: string;
  /** True for a symbolic link, whose target still has to be checked before reading. */
  link: boolean;
}

/** Files under `dir` (recursively, hidden names skipped, symlinked dirs not followed), sorted. */
export function filesUnder(repo: string, dir: string): FoundFile[] {
  const found: FoundFile[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(path.join(repo, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() || entry.isSymbolicLink()) found.push({ path: child, link: entry.isSymbolicLink() });
    }
  };
  walk(dir);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The files of each scope. */
export function listScopes(repo: string, scopes: readonly Scope[]): ScopeListing[] {
  return scopes.map((s) => ({
    ...s,
    knowledge: filesUnder(repo, scopeDir(s, 'knowledge')).map((f) => f.path),
    invariants: filesUnder(repo, scopeDir(s, 'invariants')).map((f) => f.path),
  }));
}

/** Where a repo-relative path sits in the hierarchy, or undefined when it is in no scope directory. */
export function classifyPath(rel: string): (Scope & { kind: Kind }) | undefined {
  const parts = rel.split('/');
  const isKind = (s: string | undefined): s is Kind => s === 'knowledge' || s === 'invariants';
  // Each shape needs at least one segment after the knowledge or invariants directory.
  if (isKind(parts[0]) && parts.length > 1) return { scope: 'team', base: '', kind: parts[0] };
  if (parts[0] === 'projects' && isKind(parts[2]) && parts.length > 3) {
    return { scope: 'project', project: parts[1], base: parts.slice(0, 2).join('/'), kind: parts[2] };
  }
  if (parts[0] === 'members' && isKind(parts[2]) && parts.length > 3) {
    return { scope: 'member', member: parts[1], base: parts.slice(0, 2).join('/'), kind: parts[2] };
  }
  if (parts[0] === 'members' && parts[2] === 'projects' && isKind(parts[4]) && parts.length > 5) {
    return { scope: 'member-project', member: parts[1], project: parts[3], base: parts.slice(0, 4).join('/'), kind: parts[4] };
  }
  return undefined;
}

const SHAPES = 'knowledge/<file>, invariants/<file>, projects/<p>/knowledge/<file>, members/<m>/invariants/<file> or members/<m>/projects/<p>/knowledge/<file>';

/** A knowledge or invariant file that is safe to read. */
export interface ResolvedFile extends Scope {
  kind: Kind;
  /** The path as given, normalised, relative to the team repo. */
  path: string;
  /** The real path on disk (symlinks resolved). */
  real: string;
}

/**
 * Resolves a path given by the operator (relative to the team repo, or absolute inside it) to a
 * file in a knowledge or invariant directory. Refuses anything else, including `..` tricks and
 * symlinks that lead out of those directories.
 */
export function resolveKnowledgeFile(repo: string, given: string): ResolvedFile {
  const raw = given.replace(/\\/g, '/');
  const relative = path.isAbsolute(raw) ? path.relative(repo, raw).split(path.sep).join('/') : raw;
  const rel = path.posix.normalize(relative).replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../') || path.posix.isAbsolute(rel)) {
    throw new BmError(`Path '${given}' resolves outside the team repo`, `Give a path inside a knowledge or invariant directory, such as ${SHAPES}.`);
  }
  const place = classifyPath(rel);
  if (!place) {
    throw new BmError(`Path '${given}' is not within a knowledge or invariant directory`, `Paths look like ${SHAPES}; see \`bm knowledge list\`.`);
  }
  const full = path.join(repo, rel);
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw new BmError(`File not found: ${rel}`, 'Run `bm knowledge list` to see the files.');
  }
  const realRel = path.relative(realpathSync(repo), real);
  if (realRel === '' || realRel.startsWith('..') || path.isAbsolute(realRel)) {
    throw new BmError(`Path '${given}' resolves outside the team repo`, 'It is a symbolic link that leads out of the repo; bm does not follow it.');
  }
  if (!classifyPath(realRel.split(path.sep).join('/'))) {
    throw new BmError(`Path '${given}' resolves to ${realRel}, outside the knowledge and invariant directories`, 'bm only shows knowledge and invariant files.');
  }
  const stat = statSync(real);
  if (stat.isDirectory()) throw new BmError(`${rel} is a directory`, 'Pass a file; `bm knowledge list` shows them.');
  if (!stat.isFile()) throw new BmError(`${rel} is not a regular file`, 'bm only reads plain files.');
  return { ...place, path: rel, real };
}

/** True when the bytes are not text: a NUL byte, or not valid UTF-8. */
export function isBinary(bytes: Uint8Array): boolean {
  if (bytes.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

