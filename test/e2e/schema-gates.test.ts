/**
 * Schema v1 teams: which commands need v2 (each refuses first, with the message that points to
 * `bm upgrade`), which still work, and `bm upgrade` itself (plan, migration, re-run).
 *
 * A v1 team is made the way an old bm left it: a normal team with `schema_version: v1` and no
 * `skills/` or `formations/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let repo: string;
let log: string;

const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { env: sandbox.env }).toString().trim();

/** Turns the freshly made team 'old' into a v1 team, with a comment and an unknown key to keep. */
function makeV1(): void {
  const file = path.join(repo, 'botminter.yml');
  const text = readFileSync(file, 'utf8').replace(/^schema_version: .*$/m, '# pinned by the operator\nschema_version: v1 # old layout');
  writeFileSync(file, `${text}\ncustom_bridge:\n  # keep me\n  url: https://example.invalid/bridge\n`);
  rmSync(path.join(repo, 'skills'), { recursive: true, force: true });
  rmSync(path.join(repo, 'formations'), { recursive: true, force: true });
  git('add', '-A');
  git('commit', '-q', '-m', 'test: downgrade to schema v1');
}

/** A bare repo with one commit, standing in for the project fork. */
function projectRemote(): string {
  const bare = path.join(sandbox.dir, 'widget.git');
  const seed = path.join(sandbox.dir, 'widget-seed');
  const run = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: sandbox.env });
  run(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', bare);
  run(sandbox.dir, 'init', '-q', '-b', 'main', seed);
  writeFileSync(path.join(seed, 'README.md'), '# widget\n');
  run(seed, 'add', '-A');
  run(seed, 'commit', '-q', '-m', 'initial');
  run(seed, 'push', '-q', bare, 'main');
  return bare;
}

async function v1Team(): Promise<void> {
  sandbox = createSandbox();
  log = path.join(sandbox.dir, 'calls.jsonl');
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'old', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--project', projectRemote()]);
  await sandbox.ok(['hire', 'dev', '--name', 'alice']);
  repo = path.join(sandbox.workzone, 'old', 'team');
  makeV1();
}

/**
 * Every command gated on schema v2, one row each. The gate must run before any other check, so
 * rows may carry arguments that would otherwise fail (an unknown scope, a missing file).
 * >>> Gated commands from other areas add their row here (e.g. `start --formation k8s`,
 * `daemon start`).
 */
const GATED: { name: string; args: string[] }[] = [
  { name: 'knowledge list', args: ['knowledge', 'list'] },
  { name: 'knowledge list --json with a bad scope', args: ['knowledge', 'list', '--json', '--scope', 'nonsense'] },
  { name: 'knowledge show', args: ['knowledge', 'show', 'knowledge/does-not-exist.md'] },
  { name: 'knowledge search', args: ['knowledge', 'search', 'commit'] },
  { name: 'knowledge (interactive session)', args: ['knowledge', '--scope', 'team'] },
  { name: 'start --formation k8s', args: ['start', '--formation', 'k8s'] },
  { name: 'start --formation k8s --dry-run', args: ['start', '--formation', 'k8s', '--dry-run'] },
  { name: 'daemon start', args: ['daemon', 'start', '--mode', 'poll'] },
];

/**
 * What a v1 team can still do: everything that does not need skills or formations. One row per
 * command; `check` looks at the result beyond the exit code.
 * >>> Local `start`/`stop`/`status` add their rows here.
 */
const ALLOWED: { name: string; args: string[]; check?: (stdout: string) => void }[] = [
  { name: 'hire', args: ['hire', 'qe', '--name', 'quinn'], check: () => assert.ok(existsSync(path.join(repo, 'members', 'qe-quinn', 'botminter.yml'))) },
  { name: 'members list', args: ['members', 'list', '--json'], check: (out) => assert.equal((JSON.parse(out) as { name: string }[]).map((m) => m.name), ['dev-alice', 'qe-quinn']) },
  { name: 'teams show', args: ['teams', 'show', '--json'], check: (out) => assert.is((JSON.parse(out) as { schema: string }).schema, 'v1') },
  { name: 'projects list', args: ['projects', 'list', '--json'], check: (out) => assert.equal((JSON.parse(out) as { name: string }[]).map((p) => p.name), ['widget']) },
  {
    name: 'teams sync',
    args: ['teams', 'sync', '--json'],
    check: (out) => {
      assert.is((JSON.parse(out) as { summary: { failed: number } }).summary.failed, 0);
      for (const member of ['dev-alice', 'qe-quinn']) {
        const workspace = path.join(sandbox.workzone, 'old', member, 'widget');
        assert.ok(existsSync(path.join(workspace, '.botminter', 'botminter.yml')), `${member} has a workspace with the team repo`);
        assert.not.ok(existsSync(path.join(workspace, '.botminter', 'skills')), 'a v1 team repo has no skills/');
      }
    },
  },
];

test.before(v1Team);
test.after(() => sandbox.cleanup());

for (const row of GATED) {
  test(`v1 team: bm ${row.name} refuses with the schema v2 message`, async () => {
    const result = await sandbox.bm(row.args, { env: { BM_STUB_LOG: log } });
    assert.is(result.code, 1, `exit code of bm ${row.args.join(' ')}`);
    // Under --json the error is JSON on stderr; its message is the same text.
    const error = row.args.includes('--json') ? (JSON.parse(result.stderr) as { error: { message: string } }).error.message : result.stderr;
    assert.match(error, /This feature requires schema v2, but team 'old' uses schema v1\.\nRun `bm upgrade` to migrate the team, or re-init with a v2 profile/);
    assert.is(result.stdout, '');
    assert.not.ok(existsSync(log), 'no claude or ralph was started');
  });
}

for (const row of ALLOWED) {
  test(`v1 team: bm ${row.name} still works`, async () => {
    const result = await sandbox.ok(row.args);
    row.check?.(result.stdout);
  });
}

function builtinFiles(area: string, rel = ''): string[] {
  const dir = path.join(ROOT, area, rel);
  return readdirSync(dir).flatMap((name) => (statSync(path.join(dir, name)).isDirectory() ? builtinFiles(area, path.join(rel, name)) : [path.join(area, rel, name)]));
}

test('bm upgrade: the dry run shows the plan and changes nothing', async () => {
  const head = git('rev-parse', 'HEAD');
  const manifest = readFileSync(path.join(repo, 'botminter.yml'), 'utf8');
  const { stdout } = await sandbox.ok(['upgrade', '--dry-run']);
  assert.match(stdout, /Would upgrade team 'old' from schema v1 to v2:/);
  assert.match(stdout, /add {2}skills\/knowledge-manager\/SKILL\.md/);
  assert.match(stdout, /set {2}botminter\.yml {2}schema_version: v1 -> v2/);
  assert.match(stdout, /Dry run: nothing was changed/);
  const plan = await sandbox.json<{ changes: { action: string; path: string }[]; committed: boolean; from: string; to: string }>(['upgrade', '--dry-run', '--json']);
  assert.equal([plan.from, plan.to, plan.committed], ['v1', 'v2', false]);
  assert.equal(plan.changes.filter((c) => c.action === 'add').map((c) => c.path).sort(), [...builtinFiles('skills'), ...builtinFiles('formations')].sort());
  assert.is(git('rev-parse', 'HEAD'), head);
  assert.is(readFileSync(path.join(repo, 'botminter.yml'), 'utf8'), manifest);
  assert.not.ok(existsSync(path.join(repo, 'skills')));
});

test('bm upgrade: refuses while botminter.yml has uncommitted edits', async () => {
  const file = path.join(repo, 'botminter.yml');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, `${original}# an edit in progress\n`);
  const result = await sandbox.bm(['upgrade']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /uncommitted changes in botminter\.yml, skills\/ or formations\//);
  writeFileSync(file, original);
  assert.is(git('status', '--porcelain'), '');
});

test('bm upgrade: migrates to v2 keeping comments and unknown keys, commits, and a re-run is a no-op', async () => {
  const before = readFileSync(path.join(repo, 'botminter.yml'), 'utf8');
  const { stdout } = await sandbox.ok(['upgrade']);
  assert.match(stdout, /Upgraded team 'old' from schema v1 to v2:/);
  const after = readFileSync(path.join(repo, 'botminter.yml'), 'utf8');
  assert.is(after, before.replace('schema_version: v1 # old layout', 'schema_version: v2 # old layout'), 'only the version changed');
  for (const file of [...builtinFiles('skills'), ...builtinFiles('formations')]) {
    assert.is(readFileSync(path.join(repo, file), 'utf8'), readFileSync(path.join(ROOT, file), 'utf8'), `${file} copied`);
  }
  assert.ok(existsSync(path.join(repo, 'skills', 'knowledge-manager', 'SKILL.md')));
  assert.is(git('log', '-1', '--format=%s'), 'chore: upgrade team to schema v2');
  assert.is(git('status', '--porcelain'), '', 'everything is committed');

  const head = git('rev-parse', 'HEAD');
  const again = await sandbox.ok(['upgrade']);
  assert.match(again.stdout, /Team 'old' is already on schema v2; nothing to upgrade\./);
  assert.is(git('rev-parse', 'HEAD'), head, 'no second commit');

  const listing = await sandbox.json<{ schema: string; scopes: unknown[] }>(['knowledge', 'list', '--json']);
  assert.is(listing.schema, 'v2');
  assert.ok(listing.scopes.length > 0);
});

test.run();
