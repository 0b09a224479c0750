/**
 * Creating or updating one workspace: the git side (project clone on the member's branch, the
 * team repo at `.botminter/`, pulls) followed by the surface (see surface.ts).
 *
 * A new workspace is built in a hidden sibling folder and renamed into place once both clones
 * are done, so an interrupted sync never leaves a half-made workspace where the next sync (or
 * `bm start`) would take it for a real one.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { git } from '../git.ts';
import { BmError, formatError, redact } from '../output.ts';
import { isProvisioned, type Workspace } from '../workspaces.ts';
import { isRepoOrWorkspace } from './layout.ts';
import { gitDirOf, readConfigValue, readHead, readRef, readUpstream } from './refs.ts';
import { BOTMINTER_DIR, lstat, planSurface } from './surface.ts';

/** What one ls-remote of a project fork told us; shared by all of that project's workspaces. */
export interface ProjectRemote {
  name: string;
  url: string;
  /** Branch name → sha on the remote. */
  heads: Map<string, string>;
  /** The remote's default branch (its HEAD), when it has one. */
  defaultBranch: string | undefined;
  /** Set when the remote could not be reached: every workspace of the project fails with it. */
  error?: string;
}

/** What every workspace of one sync shares. */
export interface SyncContext {
  teamRepo: string;
  /** The team repo's HEAD sha: a `.botminter/` already there needs no pull. */
  teamHead: string;
  remotes: Map<string, ProjectRemote>;
  /** GitHub token for https remotes, handed to git through GIT_ASKPASS. */
  token: string | undefined;
  dryRun: boolean;
}

/** Real runs report created/updated/unchanged/failed; `--dry-run` reports create/update/nothing (or failed). */
export type SyncAction = 'created' | 'updated' | 'unchanged' | 'failed' | 'create' | 'update' | 'nothing';

/** The outcome for one workspace (also the `--json` shape). */
export interface WorkspaceResult {
  member: string;
  project: string | null;
  path: string;
  action: SyncAction;
  /** What was (or, in a dry run, would be) done. */
  changes: string[];
  warnings: string[];
  error: string | null;
}

/** Branch names from a remote end up in argv: accept only plain ones. */
const SAFE_BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;


function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 7) : 'none';
}

/** Refuses a member folder that is a file or a symlink (which could lead writes outside the team dir). */
function checkMemberRoot(root: string): void {
  const st = lstat(root);
  if (!st) return;
  if (st.isSymbolicLink()) throw new BmError(`${root} is a symlink; bm will not write through it`, 'Replace it with a real folder (or remove it) and run `bm teams sync` again.');
  if (!st.isDirectory()) throw new BmError(`A file is where the member folder should be: ${root}`, 'Move it away and run `bm teams sync` again.');
}

/** Refuses to create a workspace where something else already is. */
function checkFreeForCreate(dir: string): void {
  const st = lstat(dir);
  if (!st) return;
  if (st.isSymbolicLink()) throw new BmError(`${dir} is a symlink; bm will not write through it`, 'Remove it and run `bm teams sync` again.');
  if (!st.isDirectory()) throw new BmError(`A file is where the workspace folder should be: ${dir}`, 'Move it away and run `bm teams sync` again.');
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const what = entries.includes('.git') ? 'A git checkout' : 'A folder that is not a bm workspace';
  throw new BmError(`${what} is in the way at ${dir}`, 'bm never overwrites it: move it away (keep what you need) and run `bm teams sync` again.');
}

/** A project workspace goes into the member folder, which must not be a git repo itself (the old layout). */
function checkNotNested(ws: Workspace): void {
  const root = path.dirname(ws.path);
  if (ws.project !== null && isRepoOrWorkspace(root)) {
    throw new BmError(`${root} is a git repo itself; bm never creates a workspace inside another workspace's repo`, `Move it away (keep what you need) and run \`bm teams sync\` again.`);
  }
}

/** A leftover index.lock (from a killed git) would make the next git command fail obscurely. */
function checkNoIndexLock(workTree: string): void {
  const lock = path.join(workTree, '.git', 'index.lock');
  if (lstat(lock)) {
    throw new BmError(`A leftover ${lock} blocks git in ${workTree}`, 'If no git command is running there (a killed one leaves it behind), remove the file and run `bm teams sync` again.');
  }
}

async function cloneProject(ctx: SyncContext, ws: Workspace, remote: ProjectRemote, dest: string): Promise<string> {
  const opts = { token: ctx.token, doing: `cloning project '${remote.name}'` };
  const parent = path.dirname(dest);
  if (remote.heads.has(ws.member)) {
    await git(parent, ['clone', '-q', '-b', ws.member, '--', remote.url, dest], opts);
    return `clone ${remote.url} on its branch ${ws.member}`;
  }
  await git(parent, ['clone', '-q', '--', remote.url, dest], opts);
  const base = remote.defaultBranch;
  if (base && SAFE_BRANCH.test(base) && remote.heads.has(base)) {
    // The member's branch follows the default branch, so a later sync fast-forwards it.
    await git(dest, ['switch', '-q', '-c', ws.member, '--track', `origin/${base}`], { doing: `creating branch ${ws.member}` });
    return `clone ${remote.url}, new branch ${ws.member} from ${base}`;
  }
  await git(dest, ['symbolic-ref', 'HEAD', `refs/heads/${ws.member}`], { doing: `creating branch ${ws.member}` });
  return `clone ${remote.url} (empty), new branch ${ws.member}`;
}

async function create(ctx: SyncContext, ws: Workspace, remote: ProjectRemote | undefined): Promise<string> {
  const staging = path.join(path.dirname(ws.path), `.${path.basename(ws.path)}.bm-sync-tmp`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.dirname(ws.path), { recursive: true });
  try {
    let what: string;
    if (remote) {
      what = await cloneProject(ctx, ws, remote, staging);
    } else {
      mkdirSync(staging);
      await git(staging, ['init', '-q', '-b', 'main'], { doing: 'creating the workspace repository' });
      what = 'git init';
    }
    await git(staging, ['clone', '-q', '--', ctx.teamRepo, BOTMINTER_DIR], { doing: 'cloning the team repo into .botminter' });
    // rename(2) replaces an empty folder, the only thing checkFreeForCreate lets through.
    renameSync(staging, ws.path);
    return what;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Brings `.botminter/` to the team repo's HEAD; returns what changed. */
async function pullTeamRepo(ctx: SyncContext, ws: Workspace): Promise<string[]> {
  const bm = path.join(ws.path, BOTMINTER_DIR);
  const gitDir = gitDirOf(bm);
  const before = gitDir ? readHead(gitDir)?.sha : undefined;
  if (before === ctx.teamHead) return [];
  if (ctx.dryRun) return ['pull .botminter (the team repo has new commits)'];
  checkNoIndexLock(bm);
  try {
    await git(bm, ['pull', '-q', '--ff-only'], { doing: 'pulling the team repo into .botminter' });
  } catch (error) {
    throw new BmError(`${bm} cannot fast-forward to the team repo: ${(error as Error).message}`, `Look at \`git -C ${bm} status\`, move local commits or changes out of the way, then run \`bm teams sync\` again.`);
  }
  const after = gitDir ? readHead(gitDir)?.sha : await git(bm, ['rev-parse', 'HEAD']);
  return after === before ? [] : [`pull .botminter (${short(before)}..${short(after)})`];
}

/** Fetches the project when the remote moved and fast-forwards the member's branch if it is checked out. */
async function updateProject(ctx: SyncContext, ws: Workspace, remote: ProjectRemote, warnings: string[]): Promise<string[]> {
  const gitDir = gitDirOf(ws.path);
  if (!gitDir) throw new BmError(`${ws.path} has no .git folder`, 'Move the workspace away and run `bm teams sync` to create it again.');
  const changes: string[] = [];
  const origin = readConfigValue(gitDir, 'remote "origin"', 'url');
  if (origin !== remote.url) {
    changes.push(`point origin at ${remote.url}`);
    if (!ctx.dryRun) await git(ws.path, origin === undefined ? ['remote', 'add', 'origin', remote.url] : ['remote', 'set-url', 'origin', remote.url]);
  }
  const moved = [...remote.heads].filter(([branch, sha]) => readRef(gitDir, `refs/remotes/origin/${branch}`) !== sha).map(([branch]) => branch);
  const head = readHead(gitDir);
  const upstream = head?.branch === ws.member ? readUpstream(gitDir, ws.member) : undefined;
  if (ctx.dryRun) {
    if (moved.length) changes.push(`fetch origin (${moved.length} branch(es) moved)`);
    if (upstream && moved.includes(upstream.split('/').slice(3).join('/'))) changes.push(`fast-forward ${ws.member}`);
    return changes;
  }
  if (moved.length) {
    await git(ws.path, ['fetch', '-q', 'origin'], { token: ctx.token, doing: `fetching project '${remote.name}'` });
    changes.push(`fetch origin (${moved.length} branch(es) moved)`);
  }
  const target = upstream ? readRef(gitDir, upstream) : undefined;
  if (!upstream || !target || target === head?.sha) return changes;
  checkNoIndexLock(ws.path);
  try {
    await git(ws.path, ['merge', '-q', '--ff-only', upstream], { doing: `fast-forwarding ${ws.member}` });
  } catch (error) {
    // Diverged or local changes in the way: git refused and nothing was lost; the member's
    // branch just stays where it is.
    warnings.push(`${ws.path}: ${ws.member} was not fast-forwarded to ${upstream.replace('refs/remotes/', '')} (${(error as Error).message})`);
  }
  const after = readHead(gitDir)?.sha;
  if (after !== head?.sha) changes.push(`fast-forward ${ws.member} (${short(head?.sha)}..${short(after)})`);
  return changes;
}

/**
 * Creates or updates one workspace (or, in a dry run, says what it would do). Never throws: a
 * failure is reported in the result so the other workspaces carry on.
 */
export async function syncWorkspace(ctx: SyncContext, ws: Workspace): Promise<WorkspaceResult> {
  const result: WorkspaceResult = { member: ws.member, project: ws.project, path: ws.path, action: 'nothing', changes: [], warnings: [], error: null };
  try {
    const remote = ws.project === null ? undefined : ctx.remotes.get(ws.project);
    if (remote?.error) throw new BmError(remote.error);
    checkMemberRoot(ws.project === null ? ws.path : path.dirname(ws.path));
    let created = false;
    if (!isProvisioned(ws.path)) {
      checkFreeForCreate(ws.path);
      checkNotNested(ws);
      if (ctx.dryRun) {
        result.action = 'create';
        result.changes.push(remote ? `clone ${remote.url} on branch ${ws.member}` : 'git init', 'clone the team repo into .botminter', 'link PROMPT.md and CLAUDE.md, write ralph.yml, .claude/agents and .git/info/exclude');
        return result;
      }
      result.changes.push(await create(ctx, ws, remote), 'clone the team repo into .botminter');
      created = true;
    } else {
      result.changes.push(...(await pullTeamRepo(ctx, ws)));
      if (remote) result.changes.push(...(await updateProject(ctx, ws, remote, result.warnings)));
    }
    const plan = planSurface(ws);
    result.warnings.push(...plan.warnings);
    for (const change of plan.changes) {
      result.changes.push(change.what);
      if (ctx.dryRun) continue;
      const warning = await change.apply();
      if (warning) result.warnings.push(warning);
    }
    if (ctx.dryRun) result.action = result.changes.length ? 'update' : 'nothing';
    else result.action = created ? 'created' : result.changes.length ? 'updated' : 'unchanged';
  } catch (error) {
    result.action = 'failed';
    result.error = redact(formatError(error).replace(/^Error: /, ''), [ctx.token]);
  }
  return result;
}
