/**
 * The team repo, project repos and the command line are untrusted: each attack of issue 13,
 * tried through the real CLI, is refused or harmless (DESIGN §10).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
test.before.each(() => {
  sandbox = createSandbox();
});
test.after.each(() => sandbox.cleanup());

const git = (cwd: string, ...args: string[]) => sandbox.git(cwd, ...args);

/** A bare repo with one commit on main; `links` are committed as symlinks. */
function projectRemote(name: string, links: Record<string, string> = {}): string {
  const bare = path.join(sandbox.dir, 'remotes', `${name}.git`);
  const seed = path.join(sandbox.dir, 'seeds', name);
  mkdirSync(seed, { recursive: true });
  git(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(seed, 'README.md'), `# ${name}\n`);
  for (const [file, target] of Object.entries(links)) symlinkSync(target, path.join(seed, file));
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', bare, 'main');
  return bare;
}

const teamRepo = () => path.join(sandbox.workzone, 'alpha', 'team');

async function initTeam(project: string, hires: string[] = ['dev:alice']): Promise<void> {
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github',
    '--project', project, ...hires.flatMap((h) => ['--hire', h])]);
}

/** Every path under `root` (names only), to prove nothing appeared outside the team dir and BM_HOME. */
function tree(root: string, skip: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (skip.includes(full)) continue;
      found.push(path.relative(root, full));
      if (lstatSync(full).isDirectory()) walk(full);
    }
  };
  walk(root);
  return found.sort();
}

test('names from the team repo (projects, member folders) are skipped with a warning, never used', async () => {
  const widget = projectRemote('widget');
  await initTeam(widget);
  const outside = () => tree(sandbox.dir, [sandbox.workzone, sandbox.home, path.join(sandbox.dir, 'remotes'), path.join(sandbox.dir, 'seeds')]);
  const before = outside();
  const manifest = path.join(teamRepo(), 'botminter.yml');
  writeFileSync(manifest, `${readFileSync(manifest, 'utf8')}  - name: ../../../../escaped-project\n    fork_url: ${widget}\n`);
  const hostile = ['-rf', '--upload-pack=touch x', 'Dev Bob', 'dev-a\nqe-forged', 'dev-bób'];
  for (const name of hostile) {
    mkdirSync(path.join(teamRepo(), 'members', name), { recursive: true });
    writeFileSync(path.join(teamRepo(), 'members', name, 'botminter.yml'), 'role: dev\n');
    writeFileSync(path.join(teamRepo(), 'members', name, 'ralph.yml'), 'event_loop: {}\n');
  }
  git(teamRepo(), 'add', '-A');
  git(teamRepo(), 'commit', '-q', '-m', 'hostile names');

  const list = await sandbox.ok(['members', 'list', '--json']);
  assert.equal((JSON.parse(list.stdout) as { name: string }[]).map((m) => m.name), ['dev-alice']);
  assert.match(list.stderr, /Skipping member name "-rf" in .*members: .*Rename it/);
  assert.match(list.stderr, /Skipping member name "dev-a\\nqe-forged"/, 'a newline is shown escaped, never as a new line');

  const sync = await sandbox.ok(['teams', 'sync', '--json']);
  assert.match(sync.stderr, /Skipping project name "\.\.\/\.\.\/\.\.\/\.\.\/escaped-project" in .*botminter\.yml/);
  const report = JSON.parse(sync.stdout) as { workspaces: { member: string; project: string }[] };
  assert.equal(report.workspaces.map((w) => `${w.member}/${w.project}`), ['dev-alice/widget']);
  assert.equal(readdirSync(path.join(sandbox.workzone, 'alpha')).filter((n) => !n.startsWith('.')).sort(), ['dev-alice', 'team']);
  assert.not.ok(existsSync(path.resolve(sandbox.workzone, 'alpha', 'dev-alice', '../../../../escaped-project')));
  assert.equal(outside(), before, 'nothing was created outside the workzone and BM_HOME');

  const status = await sandbox.ok(['status']);
  assert.not.match(status.stdout, /forged|Bob|bób|-rf/, 'no forged or hostile rows');
  await sandbox.ok(['start']);
  const running = JSON.parse((await sandbox.ok(['status', '--json'])).stdout) as { members: { name: string; status: string }[] };
  assert.equal(running.members.map((m) => `${m.name}:${m.status}`), ['dev-alice:running']);
  await sandbox.ok(['stop']);
  assert.not.ok(existsSync(path.join(sandbox.dir, 'x')) || existsSync(path.join(sandbox.workzone, 'x')), 'no --upload-pack ran');
});

test('planted symlinks in a project repo and a workspace are never written or read through', async () => {
  writeFileSync(path.join(sandbox.dir, 'victim.txt'), 'precious\n');
  writeFileSync(path.join(sandbox.dir, 'secret.txt'), 'outside secret\n');
  // The workspace is {workzone}/alpha/dev-alice/widget: four levels up is the sandbox dir.
  const widget = projectRemote('widget', { 'ralph.yml.bm-tmp': '../../../../victim.txt', 'ralph.yml': '../../../../victim.txt' });
  await initTeam(widget);
  const first = await sandbox.ok(['teams', 'sync', '--json']);
  assert.is((JSON.parse(first.stdout) as { summary: { failed: number } }).summary.failed, 0, first.stdout);
  const ws = path.join(sandbox.workzone, 'alpha', 'dev-alice', 'widget');
  assert.is(readFileSync(path.join(sandbox.dir, 'victim.txt'), 'utf8'), 'precious\n', 'the link target is untouched');
  assert.ok(lstatSync(path.join(ws, 'ralph.yml')).isFile(), 'ralph.yml is bm\'s own regular file now');

  // The agent replaces .git/info/exclude with a link to an outside file, and .claude/agents with a link to an outside folder.
  const exclude = path.join(ws, '.git', 'info', 'exclude');
  const excludeBefore = readFileSync(exclude, 'utf8');
  execFileSync('rm', ['-f', exclude]);
  symlinkSync(path.join(sandbox.dir, 'secret.txt'), exclude);
  const outDir = path.join(sandbox.dir, 'outdir');
  mkdirSync(outDir);
  execFileSync('rm', ['-rf', path.join(ws, '.claude', 'agents')]);
  symlinkSync(outDir, path.join(ws, '.claude', 'agents'));
  const second = await sandbox.bm(['teams', 'sync', '--json']);
  assert.is(second.code, 1, second.stderr);
  const failed = JSON.parse(second.stdout) as { workspaces: { error: string | null }[] };
  assert.match(String(failed.workspaces[0].error), /symlink/);
  assert.is(readFileSync(path.join(sandbox.dir, 'secret.txt'), 'utf8'), 'outside secret\n');
  assert.equal(readdirSync(outDir), [], 'nothing was written into the outside folder');
  assert.not.match(excludeBefore, /outside secret/);
  assert.not.match(readdirSync(ws).map((n) => lstatSync(path.join(ws, n)).isFile() ? readFileSync(path.join(ws, n), 'utf8') : '').join(''), /outside secret/);
});

test('a URL with credentials is refused and never reaches the team repo', async () => {
  await initTeam(projectRemote('widget'));
  const manifest = path.join(teamRepo(), 'botminter.yml');
  const before = readFileSync(manifest, 'utf8');
  const head = git(teamRepo(), 'rev-parse', 'HEAD');
  const token = `ghp_${'a1B2'.repeat(9)}`;
  const added = await sandbox.bm(['projects', 'add', `https://user:${token}@github.com/acme/gizmo.git`]);
  assert.is(added.code, 1);
  assert.match(added.stderr, /^Error: .*holds credentials\. Give the URL without them/);
  assert.not.ok(added.stderr.includes(token), 'the token is not echoed');
  assert.is(readFileSync(manifest, 'utf8'), before);
  assert.is(git(teamRepo(), 'rev-parse', 'HEAD'), head);

  // The same committed by someone else: skipped with a warning that masks it.
  writeFileSync(manifest, `${before}  - name: gizmo\n    fork_url: https://${token}@github.com/acme/gizmo.git\n`);
  const list = await sandbox.ok(['projects', 'list', '--json']);
  assert.equal((JSON.parse(list.stdout) as { name: string }[]).map((p) => p.name), ['widget']);
  assert.match(list.stderr, /fork_url holds credentials/);
  assert.not.ok(list.stderr.includes(token));
});

test('hostile names on the command line are rejected before any path or command uses them (7.6.5)', async () => {
  await initTeam(projectRemote('widget'), []);
  const canary = path.join(sandbox.dir, 'pwned');
  const bad = ['../x', 'a/b', '..', '.', '-rf', '$(id)', '`id`', `a;touch ${canary}`, 'ALICE', 'Alice_01', 'a'.repeat(64)];
  for (const name of bad) {
    const result = await sandbox.bm(['hire', 'dev', `--name=${name}`]);
    assert.is(result.code, 1, `${name}: ${result.stderr}`);
    assert.match(result.stderr, /^Error: Invalid member name/, name);
  }
  const empty = await sandbox.bm(['hire', 'dev', '--name', '']);
  assert.ok(empty.code === 1 || empty.code === 2, empty.stderr);
  for (const args of [['stop', '../x'], ['logs', '-rf'], ['fire', 'a/b', '--yes'], ['members', 'show', '$(id)'], ['start', 'ALICE'], ['status', '-t', '../x']]) {
    const result = await sandbox.bm(args);
    assert.ok(result.code === 1 || result.code === 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^Error: /);
  }
  assert.not.ok(existsSync(canary));
  assert.equal(readdirSync(path.join(teamRepo(), 'members')).filter((n) => n !== '.gitkeep'), []);
  assert.equal(readdirSync(path.join(sandbox.workzone, 'alpha')).sort(), ['team']);
});

test('an oversized state.json never keeps bm stop from stopping members; BM_HOME is private; member logs rotate', async () => {
  await initTeam(projectRemote('widget'));
  assert.is(statSync(sandbox.bmHome).mode & 0o777, 0o700, 'BM_HOME is created 0700');
  await sandbox.ok(['teams', 'sync']);
  const log = path.join(sandbox.bmHome, 'logs', 'alpha', 'dev-alice.log');
  mkdirSync(path.dirname(log), { recursive: true });
  writeFileSync(log, 'old line\n'.repeat(2000));
  await sandbox.ok(['start'], { env: { BM_LOG_MAX_BYTES: '4096' } });
  assert.ok(statSync(log).size < 4096, 'the log was rotated before the member started');
  assert.match(readFileSync(`${log}.1`, 'utf8'), /^old line/);

  const stateFile = path.join(sandbox.bmHome, 'state.json');
  writeFileSync(stateFile, `{"members": {"pad": "${'x'.repeat(2 * 1024 * 1024)}"}}`);
  const status = await sandbox.ok(['status', '--json']);
  assert.match(status.stderr, /state\.json is \d+ bytes, over the \d+-byte limit; treating the state as empty/);
  assert.equal((JSON.parse(status.stdout) as { members: { name: string; status: string }[] }).members.map((m) => `${m.name}:${m.status}`), ['dev-alice:running']);
  const stopped = await sandbox.ok(['stop']);
  assert.match(stopped.stdout + stopped.stderr, /dev-alice/);
  const after = JSON.parse((await sandbox.ok(['status', '--json'])).stdout) as { members: { status: string }[] };
  assert.equal(after.members.map((m) => m.status), ['stopped']);
  assert.ok(existsSync(`${stateFile}.corrupt`), 'the oversized file is kept aside');
});

test.run();
