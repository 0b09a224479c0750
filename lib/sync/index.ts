/**
 * `bm teams sync`: provisions every member's workspace for every project of the team.
 *
 * One ls-remote per project (not per workspace) tells which forks moved and which are
 * unreachable; the team repo's HEAD tells which `.botminter/` clones are behind. Workspaces then
 * run through a bounded pool, each reporting its own outcome, so one failure never stops the
 * rest. Concurrent syncs of one team are serialized by a lock in the team dir.
 *
 * A member whose workspace layout changed with the team's projects (layout.ts) has its old
 * workspace moved to the archive first, unless it runs there: then it alone is refused.
 */
import path from 'node:path';
import { withFileLockAsync } from '../files.ts';
import { git, gitMaybe, push } from '../git.ts';
import { BmError } from '../output.ts';
import { memberNames, projectsOf, type Team } from '../team.ts';
import { expectedWorkspaces } from '../workspaces.ts';
import { archiveOldLayout, layoutChanges, refusal } from './layout.ts';
import { runPool } from './pool.ts';
import { syncWorkspace, type ProjectRemote, type SyncContext, type WorkspaceResult } from './workspace.ts';

export type { SyncAction, WorkspaceResult } from './workspace.ts';

/** Default number of workspaces synced at once. */
export const DEFAULT_JOBS = 4;

/** Options of one sync. */
export interface SyncOptions {
  /** Only these members (already validated); default all. */
  members?: readonly string[];
  dryRun?: boolean;
  jobs?: number;
  /** Called as each workspace finishes, for progress output. */
  onResult?: (result: WorkspaceResult, done: number, total: number) => void;
}

/** Counts per outcome. */
export interface SyncSummary {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

/** The whole sync (the `--json` output). */
export interface SyncReport {
  team: string;
  dryRun: boolean;
  summary: SyncSummary;
  workspaces: WorkspaceResult[];
  /** Team-level notes, such as uncommitted changes in the team repo. */
  warnings: string[];
}

/** The team's GitHub token, used only for https remotes. */
function tokenOf(team: Team): string | undefined {
  return team.entry.credentials?.gh_token || process.env.GH_TOKEN || undefined;
}

async function probeProject(cwd: string, name: string, url: string, token: string | undefined): Promise<ProjectRemote> {
  const remote: ProjectRemote = { name, url, heads: new Map(), defaultBranch: undefined };
  try {
    const listing = await git(cwd, ['ls-remote', '--symref', '--', url, 'HEAD', 'refs/heads/*'], { token, doing: `reaching project '${name}' at ${url}` });
    for (const line of listing.split('\n')) {
      const [left, ref] = line.split('\t');
      if (left.startsWith('ref: refs/heads/') && ref === 'HEAD') remote.defaultBranch = left.slice('ref: refs/heads/'.length);
      else if (ref?.startsWith('refs/heads/')) remote.heads.set(ref.slice('refs/heads/'.length), left);
    }
  } catch (error) {
    remote.error = (error as Error).message;
  }
  return remote;
}

/** Counts the outcomes of a sync (dry-run actions count as their real counterparts). */
export function summarize(results: readonly WorkspaceResult[]): SyncSummary {
  const count = (...actions: string[]) => results.filter((r) => actions.includes(r.action)).length;
  return { total: results.length, created: count('created', 'create'), updated: count('updated', 'update'), unchanged: count('unchanged', 'nothing'), failed: count('failed') };
}

/** Creates or updates the workspaces of `team` (or, with `dryRun`, only says what it would do). */
export async function syncTeam(team: Team, options: SyncOptions = {}): Promise<SyncReport> {
  const dryRun = options.dryRun ?? false;
  const workspaces = expectedWorkspaces(team, options.members);
  const report: SyncReport = { team: team.name, dryRun, summary: summarize([]), workspaces: [], warnings: [] };
  if (workspaces.length === 0) return report;
  const run = async (): Promise<SyncReport> => {
    const teamHead = await git(team.paths.repo, ['rev-parse', 'HEAD'], { doing: 'reading the team repo' });
    // GIT_OPTIONAL_LOCKS=0 keeps status from refreshing the index: a dry run writes nothing.
    const status = await git(team.paths.repo, ['status', '--porcelain', '--untracked-files=no'], { env: { GIT_OPTIONAL_LOCKS: '0' } }).catch(() => '');
    if (status !== '') {
      report.warnings.push(`The team repo ${team.paths.repo} has uncommitted changes; workspaces only get what is committed.`);
    }
    const token = tokenOf(team);
    const used = new Set(workspaces.map((w) => w.project));
    const projects = projectsOf(team).filter((p) => used.has(p.name));
    const remotes = await Promise.all(projects.map((p) => probeProject(team.paths.dir, p.name, p.fork_url, p.fork_url.startsWith('https://') ? token : undefined)));
    const ctx: SyncContext = { teamRepo: team.paths.repo, teamHead, remotes: new Map(remotes.map((r) => [r.name, r])), token, dryRun };
    const aside: WorkspaceResult[] = [];
    for (const change of layoutChanges(team, options.members ?? memberNames(team))) {
      const mine = workspaces.filter((w) => w.member === change.member);
      if (change.running.length > 0) {
        aside.push({ member: change.member, project: null, path: change.root, action: 'failed', changes: [], warnings: [], error: refusal(team, change) });
      } else if (dryRun) {
        const move = `move the old workspace in ${change.root} to ${path.join(team.paths.dir, 'archive')}/ (${change.why})`;
        aside.push(...mine.map((w, i) => ({ member: w.member, project: w.project, path: w.path, action: 'create' as const, changes: [...(i === 0 ? [move] : []), 'create it afresh'], warnings: [], error: null })));
      } else {
        report.warnings.push(`${change.member}: ${change.why}; its old workspace was moved to ${archiveOldLayout(team, change)}.`);
        continue;
      }
      for (const w of mine) workspaces.splice(workspaces.indexOf(w), 1);
    }
    let done = 0;
    const total = workspaces.length + aside.length;
    for (const result of aside) options.onResult?.(result, ++done, total);
    report.workspaces = [...aside, ...(await runPool(workspaces, options.jobs ?? DEFAULT_JOBS, async (ws) => {
      const result = await syncWorkspace(ctx, ws);
      options.onResult?.(result, ++done, total);
      return result;
    }))];
    report.summary = summarize(report.workspaces);
    return report;
  };
  // A dry run writes nothing, not even the lock file.
  return dryRun ? run() : withFileLockAsync(path.join(team.paths.dir, '.bm-sync'), run, { timeoutMs: 10 * 60_000 });
}

/** `--push`: pushes the team repo's current branch to its origin before syncing. */
export async function pushTeamRepo(team: Team): Promise<string> {
  const repo = team.paths.repo;
  const origin = await gitMaybe(repo, ['remote', 'get-url', 'origin']);
  if (!origin) throw new BmError(`The team repo ${repo} has no remote to push to`, 'Sync without --push, or add one with `git -C <team repo> remote add origin <url>`.');
  const branch = await git(repo, ['symbolic-ref', '--short', 'HEAD'], { doing: 'reading the team repo branch' });
  await push(repo, 'origin', branch, origin.startsWith('https://') ? tokenOf(team) : undefined);
  return `${branch} → ${origin}`;
}
