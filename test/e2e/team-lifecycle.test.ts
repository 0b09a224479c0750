/**
 * The first operator journey, driven through the real CLI: create a team offline with a local
 * bare remote, hire, list, fire and show; then the same against the fake GitHub.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { startFakeGitHub } from '../support/fake-github.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
test.before.each(() => {
  sandbox = createSandbox();
});
test.after.each(() => sandbox.cleanup());

function bareRemote(name: string): string {
  const dir = path.join(sandbox.dir, 'remotes', `${name}.git`);
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir]);
  return dir;
}

function gitLog(repo: string): string[] {
  return execFileSync('git', ['-C', repo, 'log', '--format=%s'], { env: sandbox.env }).toString().trim().split('\n');
}

test('offline init, hire three, list, fire one, show', async () => {
  const remote = bareRemote('alpha');
  const init = await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--remote', remote]);
  assert.match(init.stdout, /Team 'alpha' created/);

  const teamRepo = path.join(sandbox.workzone, 'alpha', 'team');
  for (const p of ['botminter.yml', 'PROCESS.md', 'CLAUDE.md', 'knowledge', 'invariants', 'skills/knowledge-manager/SKILL.md', 'formations/local/formation.yml', 'members', 'projects']) {
    assert.ok(existsSync(path.join(teamRepo, p)), `team repo lacks ${p}`);
  }
  assert.not.ok(existsSync(path.join(teamRepo, 'roles')), 'roles/ must not be copied into the team repo');
  assert.equal(execFileSync('git', ['-C', remote, 'rev-parse', 'main']).toString().trim(), execFileSync('git', ['-C', teamRepo, 'rev-parse', 'main']).toString().trim());

  const configFile = path.join(sandbox.bmHome, 'config.yml');
  assert.is(statSync(configFile).mode & 0o777, 0o600);
  const config = parse(readFileSync(configFile, 'utf8'));
  assert.is(config.default_team, 'alpha');
  assert.match(config.teams[0].credentials.webhook_secret, /^[0-9a-f]{64}$/);

  await sandbox.ok(['hire', 'dev', '--name', 'alice']);
  await sandbox.ok(['hire', 'qe']);
  await sandbox.ok(['hire', 'qe']);
  const members = await sandbox.json<{ name: string; role: string }[]>(['members', 'list', '--json']);
  assert.equal(members.map((m) => `${m.name}:${m.role}`), ['dev-alice:dev', 'qe-01:qe', 'qe-02:qe']);
  const manifest = parse(readFileSync(path.join(teamRepo, 'members', 'dev-alice', 'botminter.yml'), 'utf8'));
  assert.equal([manifest.role, manifest.name], ['dev', 'alice']);

  const fired = await sandbox.bm(['fire', 'qe-01']);
  assert.is(fired.code, 1, 'fire without --yes and without a TTY must refuse');
  assert.match(fired.stderr, /--yes/);
  await sandbox.ok(['fire', 'qe-01', '--yes']);
  await sandbox.ok(['hire', 'qe']);
  const after = await sandbox.json<{ name: string }[]>(['members', 'list', '--json']);
  assert.equal(after.map((m) => m.name), ['dev-alice', 'qe-01', 'qe-02'], 'the gap left by a fired member is reused');

  const show = await sandbox.json<{ name: string; profile: string; schema: string; members: unknown[]; default: boolean }>(['teams', 'show', '--json']);
  assert.is(show.name, 'alpha');
  assert.is(show.profile, 'scrum');
  assert.is(show.schema, 'v2');
  assert.is(show.members.length, 3);
  assert.ok(show.default);
  assert.equal(gitLog(teamRepo).slice(0, 5), ['feat: hire qe as 01', 'feat: fire qe-01', 'feat: hire qe as 02', 'feat: hire qe as 01', 'feat: hire dev as alice']);

  const text = await sandbox.ok(['teams', 'list']);
  assert.match(text.stdout, /alpha\tscrum\t\(none\)\t✔/);
});

test('a second team does not become the default; -t picks it', async () => {
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'one', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'two', '--profile', 'scrum-compact', '--workzone', sandbox.workzone, '--no-github', '--hire', 'superman:clark']);
  const teams = await sandbox.json<{ name: string; default: boolean }[]>(['teams', 'list', '--json']);
  assert.equal(teams.map((t) => [t.name, t.default]), [['one', true], ['two', false]]);
  assert.equal(await sandbox.json(['members', 'list', '--json']), []);
  const two = await sandbox.json<{ name: string }[]>(['members', 'list', '-t', 'two', '--json']);
  assert.equal(two.map((m) => m.name), ['superman-clark']);
  const unknown = await sandbox.bm(['members', 'list', '-t', 'three']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /Team 'three' not found\. Available teams: one, two/);
});

test('init against the fake GitHub creates repo, labels, board and Status options', async () => {
  const github = await startFakeGitHub({ login: 'octo', token: 'ghp_testtoken000000000000000000000000' });
  try {
    const env = { BM_GITHUB_API_URL: github.url, GH_TOKEN: 'ghp_testtoken000000000000000000000000' };
    await sandbox.ok(['init', '--non-interactive', '--team-name', 'beta', '--profile', 'scrum', '--workzone', sandbox.workzone, '--github-repo', 'octo/beta-team', '--hire', 'dev:bob'], { env });
    const profile = parse(readFileSync(path.join(sandbox.workzone, 'beta', 'team', 'botminter.yml'), 'utf8'));
    const repoCreate = github.requests.find((r) => r.method === 'POST' && r.path === '/user/repos');
    assert.ok(repoCreate, 'the repo was created through POST /user/repos');
    assert.is((repoCreate.body as { name: string }).name, 'beta-team');
    const labelNames = github.requests.filter((r) => r.method === 'POST' && r.path === '/repos/octo/beta-team/labels').map((r) => (r.body as { name: string }).name);
    assert.equal(labelNames, profile.labels.map((l: { name: string }) => l.name));
    const board = github.boards.find((b) => b.title === 'beta Board');
    assert.ok(board, 'the board "beta Board" exists');
    const status = board.fields.find((f) => f.name === 'Status');
    assert.equal(status?.options?.map((o) => o.name), profile.statuses.map((s: { name: string }) => s.name));
    assert.ok(github.requests.every((r) => !JSON.stringify(r.query).includes('ghp_')), 'the token never travels in a URL');
    const teamRepo = path.join(sandbox.workzone, 'beta', 'team');
    const remoteUrl = execFileSync('git', ['-C', teamRepo, 'remote', 'get-url', 'origin']).toString().trim();
    assert.not.match(remoteUrl, /ghp_/);
    assert.ok(execFileSync('git', ['--git-dir', new URL(remoteUrl).pathname, 'log', '--format=%s', 'main']).toString().includes('feat: hire dev as bob'));
  } finally {
    await github.close();
  }
});

test('GitHub failing mid-init leaves nothing registered and a re-run completes', async () => {
  const token = 'ghp_retrytoken00000000000000000000000';
  const github = await startFakeGitHub({ login: 'octo', token });
  try {
    const env = { BM_GITHUB_API_URL: github.url, GH_TOKEN: token };
    const args = ['init', '--non-interactive', '--team-name', 'gamma', '--profile', 'scrum', '--workzone', sandbox.workzone, '--github-repo', 'octo/gamma'];
    for (const [status, pattern] of [[500, /GitHub/], [401, /token/i], [403, /rate limit/i]] as const) {
      github.failNext('POST', /\/labels$/, status, status === 403 ? { message: 'API rate limit exceeded' } : undefined,
        status === 403 ? { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600) } : undefined);
      const failed = await sandbox.bm(args, { env });
      assert.is(failed.code, 1, `HTTP ${status} fails the init`);
      assert.match(failed.stderr, pattern);
      assert.not.match(failed.stderr + failed.stdout, /ghp_/);
      assert.not.ok(existsSync(path.join(sandbox.workzone, 'gamma')), 'no team dir is left behind');
      assert.equal(await sandbox.json(['teams', 'list', '--json']).catch(() => []), []);
    }
    await sandbox.ok(args, { env });
    const teams = await sandbox.json<{ name: string }[]>(['teams', 'list', '--json']);
    assert.equal(teams.map((t) => t.name), ['gamma']);
  } finally {
    await github.close();
  }
});

test.run();
