/**
 * `npm run demo`: bm's main job on an embedded default, fully offline.
 *
 * Creates a sandbox (its own BM_HOME, workzone and local bare git remotes in a temp dir, never
 * your real ~/.botminter), creates a team from the `scrum` profile, hires a member for every
 * role, shows the roster, syncs their workspaces and shows one. The sandbox is kept so you can
 * explore it; the last lines say how.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { build } from './build.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
// bm runs dist/: build it from the current sources first, so this never runs stale code.
await build();
const sandbox = mkdtempSync(path.join(os.tmpdir(), 'bm-demo-'));
const env: NodeJS.ProcessEnv = { ...process.env, BM_HOME: path.join(sandbox, 'bm-home'), GH_TOKEN: '' };
delete env.BM_GITHUB_API_URL;

function bm(...args: string[]): void {
  process.stdout.write(`\n$ bm ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bm.cjs'), ...args], { env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`\nThe demo stopped: \`bm ${args.join(' ')}\` exited ${result.status}. The sandbox is at ${sandbox}.\n`);
    process.exit(1);
  }
}

/** A bare repo standing in for a GitHub fork, with one commit on main. */
function projectRemote(name: string): string {
  const bare = path.join(sandbox, 'remotes', `${name}.git`);
  const seed = path.join(sandbox, 'seed', name);
  mkdirSync(seed, { recursive: true });
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...env, GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@localhost', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@localhost' } });
  git(sandbox, 'init', '-q', '--bare', '-b', 'main', bare);
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(seed, 'README.md'), `# ${name}\n\nA sample project for the bm demo.\n`);
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'Initial commit');
  git(seed, 'push', '-q', bare, 'main');
  return bare;
}

process.stdout.write(`bm demo: an offline team in ${sandbox}\n`);
const teamRemote = path.join(sandbox, 'remotes', 'demo-team.git');
mkdirSync(path.dirname(teamRemote), { recursive: true });
execFileSync('git', ['init', '-q', '--bare', '-b', 'main', teamRemote]);
const widget = projectRemote('widget');

bm('init', '--non-interactive', '--team-name', 'demo', '--profile', 'scrum', '--workzone', path.join(sandbox, 'workzone'), '--no-github', '--remote', teamRemote, '--project', widget);
for (const [role, name] of [['po', 'paula'], ['architect', 'archie'], ['dev', 'alice'], ['qe', 'quinn'], ['reviewer', 'rita']]) bm('hire', role, '--name', name);
bm('members', 'list');
bm('teams', 'show');
bm('teams', 'sync');

/** Prints one workspace's top level and its `.claude/agents/`, with link targets as `ls -l` shows them. */
function showWorkspace(dir: string): void {
  const entry = (full: string) => {
    const st = lstatSync(full);
    return `${path.basename(full)}${st.isSymbolicLink() ? ` -> ${readlinkSync(full)}` : st.isDirectory() ? '/' : ''}`;
  };
  process.stdout.write(`\nWorkspace ${dir}:\n`);
  for (const name of readdirSync(dir).sort()) if (name !== '.git') process.stdout.write(`  ${entry(path.join(dir, name))}\n`);
  const agents = path.join(dir, '.claude', 'agents');
  const linked = readdirSync(agents).sort();
  process.stdout.write(`  .claude/agents/: ${linked.length ? '' : '(the profile ships no agents)'}\n`);
  for (const name of linked) process.stdout.write(`    ${entry(path.join(agents, name))}\n`);
}
showWorkspace(path.join(sandbox, 'workzone', 'demo', 'dev-alice', 'widget'));
bm('teams', 'sync');

process.stdout.write([
  '',
  'Done. The sandbox stays so you can look around:',
  `  export BM_HOME=${env.BM_HOME}`,
  '  bm members list          # (after `npm link`, or use `node scripts/bm.cjs`)',
  `  ls ${path.join(sandbox, 'workzone', 'demo', 'team')}`,
  `  ls -la ${path.join(sandbox, 'workzone', 'demo', 'dev-alice', 'widget')}`,
  `Remove it with: rm -rf ${sandbox}`,
  '',
].join('\n'));
