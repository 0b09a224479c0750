/**
 * Loading a team: its config entry, team repo paths, manifest, members and projects.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Document } from 'yaml';
import { loadConfig, resolveTeam, type TeamEntry } from './config.ts';
import { withFileLockAsync, writeFileAtomic } from './files.ts';
import { acceptName, acceptNames, validateName } from './names.ts';
import { BmError, redact, warnOnce } from './output.ts';
import { teamPaths, type TeamPaths } from './paths.ts';
import { subdirs } from './profiles.ts';
import { memberManifestSchema, readYaml, teamManifestSchema, type MemberManifest, type TeamManifest } from './schema.ts';

/** A loaded team. */
export interface Team {
  name: string;
  entry: TeamEntry;
  paths: TeamPaths;
  manifest: TeamManifest;
  /** The manifest as a YAML document: edit this to keep comments and unknown keys. */
  manifestDoc: Document;
  schemaVersion: string | undefined;
}

/** A hired member. */
export interface Member {
  /** The member directory name, e.g. `dev-alice`: the member's identity everywhere. */
  name: string;
  role: string;
  dir: string;
  manifest: MemberManifest | undefined;
}

/** Loads the team named by `-t` (or the default team) from the operator config. */
export function loadTeamFromFlag(flag: string | undefined): Team {
  return loadTeam(resolveTeam(loadConfig(), flag));
}

/** Loads a team from its config entry; fails clearly when the team repo is missing or broken. */
export function loadTeam(entry: TeamEntry): Team {
  const paths = teamPaths(entry.path);
  if (!existsSync(paths.manifest)) {
    throw new BmError(`Team repo at ${paths.repo} has no botminter.yml`, `Is ${paths.repo} a bm team repo? Re-run \`bm init\` or fix the path in the operator config.`);
  }
  const file = readYaml(paths.manifest, teamManifestSchema);
  // The Document is parsed only by commands that edit the manifest; reading needs the value only.
  return { name: entry.name, entry, paths, manifest: file.value, get manifestDoc() { return file.doc; }, schemaVersion: file.value.schema_version };
}

/** Writes the team manifest document back (atomically), keeping comments and unknown keys. */
export function saveManifest(team: Team): void {
  writeFileAtomic(team.paths.manifest, team.manifestDoc.toString({ lineWidth: 0 }));
  team.manifest = teamManifestSchema().parse(team.manifestDoc.toJS());
  team.schemaVersion = team.manifest.schema_version;
}

/**
 * Member directory names, sorted. Only `members/` is scanned: nothing else in the repo is a
 * member. A folder whose name is not a valid member name is skipped with a warning.
 */
export function memberNames(team: Team): string[] {
  return acceptNames('member', subdirs(team.paths.members), team.paths.members);
}

/** Reads one member; its role comes from its manifest, else from the directory name prefix. */
export function readMember(team: Team, name: string): Member {
  validateName('member', name);
  const dir = team.paths.member(name);
  if (!existsSync(dir)) {
    const known = memberNames(team);
    throw new BmError(`Member '${name}' not found in team '${team.name}'`, known.length ? `Members: ${known.join(', ')}.` : 'Run `bm hire <role>` to hire one.');
  }
  const file = path.join(dir, 'botminter.yml');
  const manifest = existsSync(file) ? readYaml(file, memberManifestSchema).value : undefined;
  const role = manifest?.role !== undefined && acceptName('role', manifest.role, `${file} (role)`) ? manifest.role : name.split('-')[0];
  return { name, role, dir, manifest };
}

/** All members, sorted by name. */
export function listMembers(team: Team): Member[] {
  return memberNames(team).map((name) => readMember(team, name));
}

/**
 * The team's projects from the manifest. The team repo is untrusted (member agents commit to
 * it): a project with an invalid name or credentials in its URL is skipped with a warning.
 */
export function projectsOf(team: Team): { name: string; fork_url: string }[] {
  const source = `${team.paths.manifest} (projects)`;
  return (team.manifest.projects ?? []).filter((p) => {
    if (!acceptName('project', p.name, source)) return false;
    if (!hasCredentials(p.fork_url)) return true;
    warnOnce(`Skipping project '${p.name}' in ${source}: its fork_url holds credentials (${redact(p.fork_url)}). Remove them from botminter.yml and rewrite that commit; bm uses the team's token.`);
    return false;
  });
}

/**
 * True when a git URL carries a secret: any user part of an http(s) URL (a token works as the
 * user name) or a password in any URL. `ssh://git@host/...` names a user, not a secret.
 */
export function hasCredentials(url: string): boolean {
  const userinfo = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)@/i.exec(url);
  if (!userinfo) return false;
  return /^https?$/i.test(userinfo[1]) || userinfo[2].includes(':');
}

/**
 * Runs a change to the team repo (hire, fire, projects add) under the team's lock, so two bm
 * commands never interleave their git operations.
 */
export async function withTeamLock<T>(team: Team, fn: () => Promise<T>): Promise<T> {
  return withFileLockAsync(path.join(team.paths.repo, '.git', 'bm-team'), fn);
}
