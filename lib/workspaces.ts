/**
 * Where each member's workspaces are: the one place start, stop, status and the daemon ask.
 *
 * With projects, a member has one workspace per project at `{team dir}/{member}/{project}/`; a
 * team without projects gives each member one workspace at `{team dir}/{member}/`. A workspace
 * "exists" once `bm teams sync` has cloned the team repo into its `.botminter/`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { memberNames, projectsOf, type Team } from './team.ts';

/** One member workspace. */
export interface Workspace {
  member: string;
  /** The project name, or null for a team without projects. */
  project: string | null;
  path: string;
  /** True once sync has provisioned it (its `.botminter/` is a directory). */
  exists: boolean;
}

/** True once sync has provisioned `workspace`: its `.botminter/` (the team repo clone) is a directory. */
export function isProvisioned(workspace: string): boolean {
  const marker = path.join(workspace, '.botminter');
  return existsSync(marker) && statSync(marker).isDirectory();
}

/** Every workspace the team's members should have, members and projects in sorted order. */
export function expectedWorkspaces(team: Team, members: readonly string[] = memberNames(team)): Workspace[] {
  const projects = projectsOf(team).map((p) => p.name).sort();
  return [...members].sort().flatMap((member) => {
    const root = team.paths.memberRoot(member);
    const paths = projects.length === 0 ? [{ project: null, path: root }] : projects.map((project) => ({ project, path: path.join(root, project) }));
    return paths.map((w) => ({ member, ...w, exists: isProvisioned(w.path) }));
  });
}

/** The provisioned workspaces of the given members (default: all), in a stable order. */
export function discoverWorkspaces(team: Team, members?: readonly string[]): Workspace[] {
  return expectedWorkspaces(team, members).filter((w) => w.exists);
}

/**
 * A fresh folder in `{team dir}/archive/` for `label`'s old files (`<label>-<time>`): where
 * workspaces go that may hold unpushed work (a fired member, an old layout).
 */
export function archiveFolder(team: Team, label: string): string {
  const folder = path.join(team.paths.dir, 'archive', `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(path.dirname(folder), { recursive: true });
  return folder;
}

