/**
 * The files bm lays over a workspace, next to the project's own: PROMPT.md and CLAUDE.md
 * symlinks, the ralph.yml copy, `.claude/` (agents and local settings) and the exclude block.
 *
 * `planSurface` only reads the disk and returns the changes a workspace needs; each change's
 * `apply` makes it. `--dry-run` prints the plan, a real sync applies it, and a workspace that is
 * up to date gets an empty plan, so a sync with nothing to do writes nothing.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ensureRealFolders, readAgentFile, writeFileAtomic } from '../files.ts';
import { git, gitMaybe } from '../git.ts';
import { BmError } from '../output.ts';
import { gitDirOf } from './refs.ts';

/** Where the team repo is cloned inside every workspace. */
export const BOTMINTER_DIR = '.botminter';

/** The workspace a surface belongs to. */
export interface SurfaceTarget {
  member: string;
  /** The project name, or null for a team without projects. */
  project: string | null;
  /** The workspace directory. */
  path: string;
}

/** One pending change: `what` is shown to the operator, `apply` makes it and may return a warning. */
export interface Change {
  what: string;
  apply(): Promise<string | void>;
}

/** A workspace's pending changes plus anything the operator should know even when nothing changes. */
export interface SurfacePlan {
  changes: Change[];
  warnings: string[];
}

const LINKED_FILES = ['PROMPT.md', 'CLAUDE.md'];
const EXCLUDE_BEGIN = '# >>> bm: managed workspace files, rewritten by `bm teams sync`';
const EXCLUDE_END = '# <<< bm';
/** What bm adds to a workspace; kept out of the project's git through `.git/info/exclude`. */
export const EXCLUDED_PATTERNS = [
  `/${BOTMINTER_DIR}/`, '/PROMPT.md', '/CLAUDE.md', '/ralph.yml', '/ralph.oneshot.yml',
  '/PROMPT.md.edited*', '/CLAUDE.md.edited*', '/ralph.yml.edited*', '/.claude/', '/.ralph/', '/poll-log.txt',
];
const STATE_FILE = 'bm-sync.json';

/**
 * The workspace's ralph.yml from the member's: `{{member}}` and `{{project}}` substituted. In a
 * team without projects, list items naming `{{project}}` (the project skill dir) are dropped.
 */
export function renderRalphYml(source: string, member: string, project: string | null): string {
  let text = source;
  if (project === null) text = text.split('\n').filter((line) => !(/^\s*-\s/.test(line) && line.includes('{{project}}'))).join('\n');
  return text.replaceAll('{{member}}', member).replaceAll('{{project}}', project ?? '');
}

/** lstat that says undefined for a missing path. */
export function lstat(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Text of a regular file; undefined when it is missing or anything else (a symlink could lead out of the repo). */
function readSource(file: string): string | undefined {
  return lstat(file)?.isFile() ? readAgentFile(file) : undefined;
}

/**
 * Writes a file of workspace `root` through an exclusive temp file and a rename, never through
 * a symlink (see writeFileAtomic). No fsync: everything here is derived from the team repo and
 * the next sync rewrites it, and skipping the fsyncs keeps a first sync of many workspaces fast.
 */
function writeFile(root: string, file: string, data: string): void {
  writeFileAtomic(file, data, 0o644, { durable: false, within: root });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Moves a locally edited file aside to `<name>.edited` (or `.edited-2`, ...) and returns the new name. */
function keepAside(file: string): string {
  let aside = `${file}.edited`;
  for (let n = 2; lstat(aside); n++) aside = `${file}.edited-${n}`;
  renameSync(file, aside);
  return path.basename(aside);
}

async function isTracked(workspace: string, rel: string): Promise<boolean> {
  return (await gitMaybe(workspace, ['ls-files', '--error-unmatch', '--', rel])) !== undefined;
}

/** Hides a project-tracked file that bm replaced, so the project's `git status` stays clean. */
async function hideTracked(workspace: string, rel: string): Promise<void> {
  await git(workspace, ['update-index', '--skip-worktree', '--', rel]).catch(() => undefined);
}

/** Refuses a path that should be bm's folder but is a file, or a symlink bm would write through. */
function requireFolder(file: string, label: string): boolean {
  const st = lstat(file);
  if (!st) return false;
  if (st.isSymbolicLink()) throw new BmError(`${label} in ${path.dirname(file)} is a symlink; bm will not write through it`, `Remove ${file} and run \`bm teams sync\` again.`);
  if (!st.isDirectory()) throw new BmError(`A file is where the ${label} folder should be: ${file}`, 'Move it away and run `bm teams sync` again.');
  return true;
}

interface SyncState {
  /** sha256 of each managed copy as bm last wrote it, to tell local edits from source changes. */
  copies: Record<string, string>;
}

function readState(gitDir: string): SyncState {
  try {
    const parsed = JSON.parse(readAgentFile(path.join(gitDir, STATE_FILE)) ?? '{}') as Partial<SyncState>;
    return { copies: typeof parsed.copies === 'object' && parsed.copies ? parsed.copies : {} };
  } catch {
    return { copies: {} };
  }
}

function recordCopy(gitDir: string, rel: string, hash: string): void {
  const state = readState(gitDir);
  state.copies[rel] = hash;
  writeFile(path.dirname(gitDir), path.join(gitDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

function planLinks(t: SurfaceTarget, memberDir: string, changes: Change[]): void {
  for (const name of LINKED_FILES) {
    const target = path.join(BOTMINTER_DIR, 'members', t.member, name);
    const dest = path.join(t.path, name);
    const hasSource = lstat(path.join(memberDir, name))?.isFile() === true;
    const st = lstat(dest);
    const link = async () => {
      rmSync(dest, { force: true });
      symlinkSync(target, dest);
    };
    if (!hasSource) {
      if (st?.isSymbolicLink()) changes.push({ what: `remove ${name} (the member has none)`, apply: async () => rmSync(dest, { force: true }) });
      continue;
    }
    if (!st) {
      changes.push({ what: `link ${name}`, apply: link });
    } else if (st.isSymbolicLink()) {
      const current = readlinkSync(dest);
      if (current !== target) changes.push({ what: `repair ${name} (it pointed to ${current})`, apply: link });
    } else if (st.isDirectory()) {
      throw new BmError(`A folder is where ${name} should be: ${dest}`, 'Move it away and run `bm teams sync` again.');
    } else {
      changes.push({
        what: `replace the ${name} file with the member's symlink`,
        apply: async () => {
          if (await isTracked(t.path, name)) {
            await link();
            await hideTracked(t.path, name);
            return;
          }
          const aside = keepAside(dest);
          await link();
          return `${dest} was a local file; it is kept as ${aside}`;
        },
      });
    }
  }
}

interface ManagedCopy {
  rel: string;
  source: string;
  render(text: string): string;
  required: boolean;
}

function planCopy(t: SurfaceTarget, gitDir: string, state: SyncState, copy: ManagedCopy, plan: SurfacePlan): void {
  const sourceText = readSource(copy.source);
  if (sourceText === undefined) {
    if (copy.required) plan.warnings.push(`${path.relative(path.join(t.path, BOTMINTER_DIR), copy.source)} is missing: ralph cannot run ${t.path}`);
    return;
  }
  const desired = copy.render(sourceText);
  const dest = path.join(t.path, copy.rel);
  const st = lstat(dest);
  if (st?.isDirectory()) throw new BmError(`A folder is where ${copy.rel} should be: ${dest}`, 'Move it away and run `bm teams sync` again.');
  const current = st?.isFile() ? readAgentFile(dest) : undefined;
  if (current === desired) return;
  const desiredHash = sha256(desired);
  const write = async () => {
    writeFile(t.path, dest, desired);
    recordCopy(gitDir, copy.rel, desiredHash);
    // Only a file that was already there can be the project's own (tracked) one.
    if (st && copy.rel === 'ralph.yml' && (await isTracked(t.path, copy.rel))) await hideTracked(t.path, copy.rel);
  };
  const written = state.copies[copy.rel];
  if (!st) {
    plan.changes.push({ what: `write ${copy.rel}`, apply: write });
  } else if (current !== undefined && written === sha256(current)) {
    plan.changes.push({ what: `refresh ${copy.rel} (the member's changed)`, apply: write });
  } else if (written === desiredHash) {
    // Edited here, and the member's source is what bm last wrote: the local edit stays.
  } else {
    plan.changes.push({
      what: `refresh ${copy.rel} (the member's changed; the local edit is kept beside it)`,
      apply: async () => {
        const aside = keepAside(dest);
        await write();
        return `${dest} had local edits and the member's ${copy.rel} changed: your edited copy is kept as ${aside}`;
      },
    });
  }
}

function planAgents(t: SurfaceTarget, plan: SurfacePlan): void {
  const bm = path.join(t.path, BOTMINTER_DIR);
  const layers = ['coding-agent/agents', ...(t.project ? [`projects/${t.project}/coding-agent/agents`] : []), `members/${t.member}/coding-agent/agents`];
  const desired = new Map<string, string>();
  for (const layer of layers) {
    const dir = path.join(bm, layer);
    if (!lstat(dir)?.isDirectory()) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      // Later layers win: a member's agent replaces the project's, which replaces the team's.
      if (entry.isFile() && entry.name.endsWith('.md')) desired.set(entry.name, path.join('..', '..', BOTMINTER_DIR, layer, entry.name));
    }
  }
  const agentsDir = path.join(t.path, '.claude', 'agents');
  const exists = requireFolder(agentsDir, '.claude/agents');
  const current = new Map<string, string | null>();
  if (exists) {
    for (const entry of readdirSync(agentsDir, { withFileTypes: true })) {
      current.set(entry.name, entry.isSymbolicLink() ? readlinkSync(path.join(agentsDir, entry.name)) : null);
    }
  }
  const link: [string, string][] = [];
  for (const [name, target] of desired) {
    const have = current.get(name);
    if (have === null) plan.warnings.push(`${path.join(agentsDir, name)} is a local file, so the team's ${name} is not linked there`);
    else if (have !== target) link.push([name, target]);
  }
  const stale = [...current].filter(([name, target]) => target !== null && !desired.has(name)).map(([name]) => name);
  if (exists && link.length === 0 && stale.length === 0) return;
  const parts = [exists ? '' : 'create', link.length ? `link ${link.map(([n]) => n).join(', ')}` : '', stale.length ? `remove ${stale.join(', ')}` : ''].filter(Boolean);
  plan.changes.push({
    what: `.claude/agents: ${parts.join('; ')}`,
    apply: async () => {
      ensureRealFolders(t.path, agentsDir);
      for (const name of stale) rmSync(path.join(agentsDir, name), { force: true });
      for (const [name, target] of link) {
        rmSync(path.join(agentsDir, name), { force: true });
        symlinkSync(target, path.join(agentsDir, name));
      }
    },
  });
}

/** The exclude block bm keeps in `.git/info/exclude` (never in the project's `.gitignore`). */
export function excludeBlock(): string {
  return [EXCLUDE_BEGIN, ...EXCLUDED_PATTERNS, EXCLUDE_END].join('\n');
}

function planExclude(gitDir: string, changes: Change[]): void {
  const file = path.join(gitDir, 'info', 'exclude');
  const current = readAgentFile(file) ?? '';
  const block = excludeBlock();
  if (current.includes(`${block}\n`)) return;
  changes.push({
    what: 'write .git/info/exclude',
    apply: async () => {
      const lines = current.split('\n');
      const start = lines.indexOf(EXCLUDE_BEGIN);
      const end = lines.indexOf(EXCLUDE_END, start);
      const kept = start >= 0 && end > start ? [...lines.slice(0, start), ...lines.slice(end + 1)] : lines;
      const rest = kept.join('\n').replace(/\n*$/, '');
      writeFile(path.dirname(gitDir), file, `${rest ? `${rest}\n` : ''}${block}\n`);
    },
  });
}

/** Everything a provisioned workspace (its `.botminter/` cloned) lacks, read-only. */
export function planSurface(t: SurfaceTarget): SurfacePlan {
  const gitDir = gitDirOf(t.path);
  if (!gitDir) throw new BmError(`${t.path} has no .git folder`, 'Move the workspace away and run `bm teams sync` to create it again.');
  const memberDir = path.join(t.path, BOTMINTER_DIR, 'members', t.member);
  if (!lstat(memberDir)?.isDirectory()) {
    throw new BmError(`Member '${t.member}' is not in ${path.join(t.path, BOTMINTER_DIR)}`, 'Commit the member in the team repo (`bm hire` does), then run `bm teams sync` again.');
  }
  requireFolder(path.join(t.path, '.claude'), '.claude');
  const plan: SurfacePlan = { changes: [], warnings: [] };
  const state = readState(gitDir);
  planLinks(t, memberDir, plan.changes);
  const copies: ManagedCopy[] = [
    { rel: 'ralph.yml', source: path.join(memberDir, 'ralph.yml'), render: (text) => renderRalphYml(text, t.member, t.project), required: true },
    { rel: path.join('.claude', 'settings.local.json'), source: path.join(memberDir, 'coding-agent', 'settings.local.json'), render: (text) => text, required: false },
  ];
  for (const copy of copies) planCopy(t, gitDir, state, copy, plan);
  planAgents(t, plan);
  planExclude(gitDir, plan.changes);
  return plan;
}
