/**
 * A member's workspace layout follows the team's projects: without projects the member folder
 * `{team dir}/{member}/` is the workspace; with projects there is one workspace per project
 * inside it. When the first project is added (or the last one removed) the layout changes, and
 * the old workspace must go before the new ones are made, or they would be created inside its
 * git repo.
 *
 * That change never happens under a running member: a member running in the old workspace (its
 * loop, a daemon run, or a process that escaped its group) is refused, unless the operator asks
 * for a restart. The old workspace is moved to the team's archive, never deleted: it may hold
 * unpushed work.
 */
import { readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { liftHolds } from '../daemon/holds.ts';
import { startLocal, type LaunchResult } from '../lifecycle/start.ts';
import { stopMembers } from '../lifecycle/stop.ts';
import { memberOfKey } from '../lifecycle/slots.ts';
import { BmError, info, warn } from '../output.ts';
import { isOurs, type Timings } from '../proc.ts';
import { readState, teamEntries } from '../state.ts';
import { projectsOf, type Team } from '../team.ts';
import { memberProcessesUnder } from '../tree.ts';
import { archiveFolder, isProvisioned } from '../workspaces.ts';
import { lstat } from './surface.ts';

/** A member whose workspace layout no longer matches the team's projects. */
export interface LayoutChange {
  member: string;
  /** The member folder: the old workspace, or the folder holding the old per-project ones. */
  root: string;
  why: string;
  /** Live processes of the member working there: its loop, a daemon run, or one bm has no record of. */
  running: { pid: number; by: 'start' | 'daemon' | 'unrecorded'; tmux?: boolean }[];
}

/** True when `dir` is a git repo or a bm workspace (a new workspace must never go inside it). */
export function isRepoOrWorkspace(dir: string): boolean {
  return lstat(path.join(dir, '.git')) !== undefined || isProvisioned(dir);
}

/** True when `root` is not a workspace itself but holds per-project workspaces. */
function holdsProjectWorkspaces(root: string): boolean {
  if (!lstat(root)?.isDirectory() || isRepoOrWorkspace(root)) return false;
  return readdirSync(root, { withFileTypes: true }).some((e) => e.isDirectory() && !e.name.startsWith('.') && isProvisioned(path.join(root, e.name)));
}

/** The given members whose workspaces must change layout, with what runs in them. */
export function layoutChanges(team: Team, members: readonly string[]): LayoutChange[] {
  const projects = projectsOf(team).map((p) => p.name);
  const changes: LayoutChange[] = [];
  for (const member of members) {
    const root = team.paths.memberRoot(member);
    if (projects.length > 0 && isRepoOrWorkspace(root)) {
      changes.push({ member, root, why: 'the team has projects now, so the member gets one workspace per project', running: [] });
    } else if (projects.length === 0 && holdsProjectWorkspaces(root)) {
      changes.push({ member, root, why: 'the team has no projects any more, so the member folder itself becomes the workspace', running: [] });
    }
  }
  if (changes.length === 0) return changes;
  const inside = (dir: string, root: string) => dir === root || dir.startsWith(`${root}${path.sep}`);
  const entries = [...teamEntries(readState(), team.name).values()].filter((e) => isOurs(e.pid, e.started));
  const strays = memberProcessesUnder(team.paths.dir, team.name);
  for (const change of changes) {
    const recorded = entries.filter((e) => e.member === change.member && inside(e.workspace, change.root)).map((e) => ({ pid: e.pid, by: e.by ?? 'start' as const, tmux: e.tmux !== undefined }));
    const escaped = strays.filter((p) => memberOfKey(p.key) === change.member && !recorded.some((r) => r.pid === p.pid || r.pid === p.pgid)).map((p) => ({ pid: p.pid, by: 'unrecorded' as const }));
    change.running = [...recorded, ...escaped];
  }
  return changes;
}

/** Why a layout change is refused for a running member, and what to do. */
export function refusal(team: Team, change: LayoutChange): string {
  const pids = change.running.map((r) => `${r.pid}${r.by === 'daemon' ? ' (a daemon run)' : r.by === 'unrecorded' ? ' (not recorded)' : ''}`).join(', ');
  return `${change.member} is running in ${change.root} (PID ${pids}) and its workspace layout must change: ${change.why}. bm never restructures a running member's workspace: stop it first (\`bm stop ${change.member} -t ${team.name}\`) and sync again, or run \`bm teams sync --restart\` to stop, restructure and start it again.`;
}

/** Moves the member's old workspace(s) to the archive; returns where. */
export function archiveOldLayout(team: Team, change: LayoutChange): string {
  const folder = archiveFolder(team, change.member);
  renameSync(change.root, folder);
  return folder;
}

/** The members `--restart` stopped for a layout change, by how they ran. */
export interface Stopped {
  /** Started with `bm start`: started again after the sync. */
  loops: string[];
  /** Started again in tmux: they ran there (`bm start --tmux`). */
  tmux: boolean;
  /** Run by the daemon: left to the daemon, which may run them again. */
  runs: string[];
}

/**
 * `bm teams sync --restart`: stops the given members that run where their layout must change,
 * so the sync can restructure their workspaces. Throws when one of them cannot be stopped.
 */
export async function stopForLayout(team: Team, members: readonly string[], options: { timings: Timings; env: NodeJS.ProcessEnv }): Promise<Stopped> {
  const running = layoutChanges(team, members).filter((c) => c.running.length > 0);
  const stopped: Stopped = { loops: [], runs: [], tmux: running.some((c) => c.running.some((r) => r.tmux)) };
  if (running.length === 0) return stopped;
  const names = running.map((c) => c.member);
  const report = await stopMembers(team, { members: names, force: false, timings: options.timings, env: options.env, onWarning: warn });
  const failed = report.rows.filter((r) => r.result.outcome === 'failed');
  if (failed.length > 0) {
    throw new BmError(`Could not stop ${failed.map((r) => `${r.key} (${r.result.detail ?? 'still running'})`).join(', ')}`, 'Nothing was restructured; stop them with `bm stop -f <member>` and sync again.');
  }
  for (const change of running) {
    (change.running.some((r) => r.by === 'start') ? stopped.loops : stopped.runs).push(change.member);
    info(`${change.member}: stopped to restructure its workspace (${change.why}).`);
  }
  return stopped;
}

/** After a `--restart` sync: starts the stopped loops again and lets the daemon run the others. */
export async function startAfterLayout(team: Team, stopped: Stopped, options: { timings: Timings; env: NodeJS.ProcessEnv }): Promise<LaunchResult[]> {
  liftHolds(team.name, stopped.runs);
  if (stopped.loops.length === 0) return [];
  return startLocal(team, { members: stopped.loops, timings: options.timings, env: options.env, tmux: stopped.tmux });
}
