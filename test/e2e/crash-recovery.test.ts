/**
 * `kill -9` of `bm init` and `bm hire` at any point: a re-run of the same command completes,
 * cleans what the killed one left, and never commits another command's files.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BM_COMMAND, createSandbox, processesUnder, type Sandbox } from '../support/sandbox.ts';
import { waitFor } from '../support/wait.ts';

let sandbox: Sandbox;
test.before.each(() => {
  sandbox = createSandbox();
});
test.after.each(() => sandbox.cleanup());

const git = (cwd: string, ...args: string[]) => sandbox.git(cwd, ...args);

function bareRemote(name: string): string {
  const bare = path.join(sandbox.dir, 'remotes', `${name}.git`);
  mkdirSync(path.dirname(bare), { recursive: true });
  git(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', bare);
  return bare;
}

const initArgs = (remote: string) => ['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--remote', remote, '--hire', 'dev:alice'];
const teamDir = () => path.join(sandbox.workzone, 'alpha');
const staging = () => (existsSync(sandbox.workzone) ? readdirSync(sandbox.workzone).filter((n) => n.startsWith('.alpha.init-')) : []);

/**
 * Runs bm and SIGKILLs it after `ms` (if it is still running), then waits until the git it had
 * started is done too: a re-run racing the killed one's git in the same folder tests git, not bm.
 */
async function killAfter(args: string[], ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const child = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), ...args], { cwd: sandbox.dir, env: sandbox.env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await waitFor('the killed command\'s git to end', () => processesUnder(sandbox.dir).length === 0);
}

async function assertTeamComplete(remote: string): Promise<void> {
  const members = await sandbox.json<{ name: string }[]>(['members', 'list', '--json']);
  assert.equal(members.map((m) => m.name), ['dev-alice']);
  assert.is(git(path.join(teamDir(), 'team'), 'rev-parse', 'HEAD'), git(remote, 'rev-parse', 'main'), 'the team repo is what the remote holds');
  assert.equal(staging(), [], 'no staging folder is left');
  assert.not.ok(existsSync(path.join(teamDir(), '.bm-init-done')));
}

test('bm init killed at random points: the re-run completes every time', async () => {
  for (const ms of [400, 1200, 2500]) {
    const remote = bareRemote(`alpha-${ms}`);
    await killAfter(initArgs(remote), ms);
    const rerun = await sandbox.bm(initArgs(remote));
    if (rerun.code !== 0) {
      // Killed after registering: the re-run says so, and the team is complete.
      assert.match(rerun.stderr, /already registered/, `after a kill at ${ms} ms: ${rerun.stderr}`);
    }
    await assertTeamComplete(remote);
    rmSync(teamDir(), { recursive: true, force: true });
    rmSync(path.join(sandbox.bmHome, 'config.yml'), { force: true });
  }
});

test('bm init killed after its push, or after the rename: the re-run takes the pushed repo, or registers the team dir', async () => {
  const remote = bareRemote('alpha');
  await sandbox.ok(initArgs(remote));
  const pushed = git(remote, 'rev-parse', 'main');
  // After the push, before the rename: a staging folder of a dead init, no team dir, no registration.
  renameSync(teamDir(), path.join(sandbox.workzone, '.alpha.init-dead01'));
  writeFileSync(path.join(sandbox.workzone, '.alpha.init-dead01', '.bm-init-owner'), '999999999 0@gone');
  rmSync(path.join(sandbox.bmHome, 'config.yml'));
  const resumed = await sandbox.ok(initArgs(remote));
  assert.match(resumed.stderr, /already holds this team repo/);
  assert.match(resumed.stderr, /Removed .*\.alpha\.init-dead01/);
  assert.is(git(remote, 'rev-parse', 'main'), pushed, 'the remote was not rewritten');
  await assertTeamComplete(remote);

  // After the rename, before the registration.
  writeFileSync(path.join(teamDir(), '.bm-init-done'), '');
  rmSync(path.join(sandbox.bmHome, 'config.yml'));
  const registered = await sandbox.ok(initArgs(remote));
  assert.match(registered.stderr, /registering it/);
  await assertTeamComplete(remote);

  // A remote holding something else is still refused, with what to do.
  const other = bareRemote('other');
  const seed = path.join(sandbox.dir, 'seed');
  mkdirSync(seed);
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(seed, 'README.md'), 'not a team\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'x');
  git(seed, 'push', '-q', other, 'main');
  const refused = await sandbox.bm(['init', '--non-interactive', '--team-name', 'beta', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--remote', other]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /already has commits; bm will not overwrite it\. Use a new, empty repository/);
  assert.equal(readdirSync(sandbox.workzone).filter((n) => n.includes('beta')), []);
});

test('bm hire killed before its commit: other hires commit only their own files, and the re-run completes', async () => {
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  const repo = path.join(teamDir(), 'team');
  // What a hire killed between `git add` and `git commit` leaves.
  mkdirSync(path.join(repo, 'members', 'dev-bob'));
  writeFileSync(path.join(repo, 'members', 'dev-bob', 'botminter.yml'), 'role: dev\n');
  git(repo, 'add', '-A');
  await sandbox.ok(['hire', 'qe', '--name', 'quinn']);
  assert.equal(git(repo, 'show', '--name-only', '--format=', 'HEAD').split('\n').filter((f) => !f.startsWith('members/qe-quinn/')), [], 'the hire committed only its own files');
  assert.match(git(repo, 'status', '--porcelain'), /A {2}members\/dev-bob\/botminter\.yml/, 'the other staged file is left as it was');

  const rerun = await sandbox.ok(['hire', 'dev', '--name', 'bob']);
  assert.match(rerun.stderr, /interrupted hire/);
  assert.ok(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'members/dev-bob').includes('members/dev-bob/PROMPT.md'));
  assert.is(git(repo, 'status', '--porcelain'), '');

  // A real kill at a random point, then the re-run.
  await killAfter(['hire', 'reviewer', '--name', 'rita'], 400 + Math.floor(Math.random() * 800));
  await sandbox.ok(['hire', 'reviewer', '--name', 'rita']).catch(async (error: Error) => {
    assert.match(error.message, /already exists/, 'only a completed hire refuses');
  });
  const members = await sandbox.json<{ name: string }[]>(['members', 'list', '--json']);
  assert.equal(members.map((m) => m.name), ['dev-bob', 'qe-quinn', 'reviewer-rita']);
  assert.is(git(repo, 'status', '--porcelain'), '');
});

test.run();
