/**
 * Reshaping a team from the CLI, against the fake GitHub and real bare git repos: projects add
 * (checked with git ls-remote) and remove (archived or purged), teams use and remove, and
 * `teams sync --board` reconciling the board's Status options and the labels with a changed
 * manifest. Each step ends with `bm status` and `bm teams sync` still working.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { createSandbox, seededRepo, STUB_BIN, type Sandbox } from '../support/sandbox.ts';

const TOKEN = 'ghp_managementtoken0000000000000000000000';
const BOARD = 'alpha Board';

let sandbox: Sandbox;
let github: FakeGitHub;

const teamDir = () => path.join(sandbox.workzone, 'alpha');
const manifestFile = () => path.join(teamDir(), 'team', 'botminter.yml');
const statusOptions = () => github.boards.find((b) => b.title === BOARD)?.fields.find((f) => f.name === 'Status')?.options?.map((o) => o.name) ?? [];

/** The ending of every scenario: the team still works. */
async function stillWorks(): Promise<void> {
  await sandbox.ok(['status']);
  await sandbox.ok(['teams', 'sync']);
}

test.before(async () => {
  github = await startFakeGitHub({ token: TOKEN });
  sandbox = createSandbox({ GH_TOKEN: TOKEN, BM_GITHUB_API_URL: github.url });
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone,
    '--github-repo', 'octocat/alpha-team', '--project', seededRepo(sandbox, 'widget'), '--hire', 'dev:alice']);
  await sandbox.ok(['teams', 'sync']);
});

test.after(async () => {
  sandbox.cleanup();
  await github.close();
});

test('projects add checks the URL with git and shows git\'s reason; remove archives or purges the workspaces', async () => {
  const missing = await sandbox.bm(['projects', 'add', path.join(sandbox.dir, 'nothing-here.git')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /Error: Cannot add '.*nothing-here\.git': git cannot read it \(.*(does not appear to be a git repository|not found|No such file).*\)/, missing.stderr);
  assert.not.match(readFileSync(manifestFile(), 'utf8'), /nothing-here/, 'nothing added');

  await sandbox.ok(['projects', 'add', seededRepo(sandbox, 'gadget')]);
  await sandbox.ok(['teams', 'sync']);
  assert.ok(existsSync(path.join(teamDir(), 'dev-alice', 'gadget', '.botminter')));

  const removed = await sandbox.json<{ workspaces: { member: string; to: string | null }[] }>(['projects', 'remove', 'gadget', '--json']);
  assert.is(removed.workspaces.length, 1);
  const archived = removed.workspaces[0].to ?? '';
  assert.ok(archived.startsWith(path.join(teamDir(), '.archive')), archived);
  assert.ok(existsSync(path.join(archived, 'README.md')), 'the archived workspace keeps its files');
  assert.not.ok(existsSync(path.join(teamDir(), 'dev-alice', 'gadget')));
  assert.equal((await sandbox.json<{ name: string }[]>(['projects', 'list', '--json'])).map((p) => p.name), ['widget']);
  assert.not.ok(existsSync(path.join(teamDir(), 'team', 'projects', 'gadget')));

  await sandbox.ok(['projects', 'add', path.join(sandbox.dir, 'gadget.git')]);
  await sandbox.ok(['teams', 'sync']);
  await sandbox.ok(['projects', 'remove', 'gadget', '--purge']);
  assert.not.ok(existsSync(path.join(teamDir(), 'dev-alice', 'gadget')));
  assert.is(readdirSync(path.join(teamDir(), '.archive')).length, 1, 'purge archives nothing');
  const unknown = await sandbox.bm(['projects', 'remove', 'gadget']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /Project 'gadget' not found/);
  await stillWorks();
});

test('teams sync --board reconciles statuses and labels, keeps statuses in use, restores item statuses, and is idempotent', async () => {
  const nothing = await sandbox.ok(['teams', 'sync', '--board']);
  assert.match(nothing.stdout, /match the profile\. Nothing to do/);

  const building = github.addIssue({ title: 'in progress', board: BOARD, status: 'dev:implement' });
  const waiting = github.addIssue({ title: 'in the backlog', board: BOARD, status: 'po:backlog' });
  github.labels.set('octocat/alpha-team', (github.labels.get('octocat/alpha-team') ?? []).filter((l) => l.name !== 'kind/docs'));
  const manifest = parse(readFileSync(manifestFile(), 'utf8')) as { statuses: { name: string; description?: string }[] };
  manifest.statuses = manifest.statuses.filter((s) => s.name !== 'po:backlog' && s.name !== 'po:in-progress');
  manifest.statuses.splice(1, 0, { name: 'po:refine', description: 'New: the PO refines the item' });
  writeFileSync(manifestFile(), stringify(manifest));

  type Result = { changes: string[]; kept: string[] };
  const plan = await sandbox.json<Result>(['teams', 'sync', '--board', '--dry-run', '--json']);
  assert.ok(plan.changes.includes("create label 'kind/docs'"), plan.changes.join('; '));
  assert.ok(plan.changes.includes("add status 'po:refine'"));
  assert.ok(plan.changes.includes("remove status 'po:in-progress'"));
  assert.equal(plan.kept, ['po:backlog']);
  assert.ok(statusOptions().includes('po:in-progress'), 'a dry run changes nothing');

  const done = await sandbox.json<Result>(['teams', 'sync', '--board', '--json']);
  assert.ok(done.changes.includes('restored the status of 2 item(s) after rewriting the options'), done.changes.join('; '));
  assert.equal(statusOptions(), [...manifest.statuses.map((s) => s.name), 'po:backlog']);
  assert.is(github.statusOf(building, BOARD), 'dev:implement');
  assert.is(github.statusOf(waiting, BOARD), 'po:backlog');
  assert.ok(github.labels.get('octocat/alpha-team')?.some((l) => l.name === 'kind/docs'));

  const again = await sandbox.json<Result>(['teams', 'sync', '--board', '--json']);
  assert.equal(again.changes, [], 'a second run changes nothing');

  const pruned = await sandbox.json<Result>(['teams', 'sync', '--board', '--prune', '--json']);
  assert.ok(pruned.changes.includes("remove status 'po:backlog' (pruned: 1 item(s) lose it)"), pruned.changes.join('; '));
  assert.not.ok(statusOptions().includes('po:backlog'));
  assert.is(github.statusOf(waiting, BOARD), null);
  assert.is(github.statusOf(building, BOARD), 'dev:implement');
  await stillWorks();
});

test('status shows what a running member does; removing its project is refused while it runs', async () => {
  await sandbox.ok(['start', 'dev-alice'], { env: { STUB_RALPH_MODE: 'persistent', STUB_RALPH_TICK_MS: '20' } });
  try {
    const workspace = path.join(teamDir(), 'dev-alice', 'widget');
    execFileSync(path.join(STUB_BIN, 'ralph'), ['emit', 'dev.implement', '#7 picked'], { cwd: workspace, env: sandbox.env, stdio: 'ignore' });
    type Row = { name: string; status: string; activity: { issue: number | null; hat: string | null; lastOutputAt: string | null; stalled: boolean } | null };
    const fresh = (await sandbox.json<{ members: Row[] }>(['status', '--json'])).members.find((m) => m.name === 'dev-alice');
    assert.is(fresh?.status, 'running');
    assert.is(fresh?.activity?.issue, 7);
    assert.is(fresh?.activity?.hat, 'implementer');
    assert.is(fresh?.activity?.stalled, false);
    const quiet = (await sandbox.json<{ members: Row[] }>(['status', '--json', '--stall-after', '0.0001'])).members.find((m) => m.name === 'dev-alice');
    assert.ok(fresh?.activity?.lastOutputAt, 'the log\'s time is the last output');
    assert.is(quiet?.activity?.stalled, true);
    const table = await sandbox.ok(['status']);
    assert.match(table.stdout, /dev-alice\tdev\trunning\t#7\timplementer\t/);
    const refused = await sandbox.bm(['projects', 'remove', 'widget']);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /Members run on project 'widget': dev-alice/);
  } finally {
    await sandbox.ok(['stop', 'dev-alice']);
  }
  await stillWorks();
});

test('bm chat starts Claude Code in the member\'s workspace with its role (and hat) context; --print-prompt launches nothing', async () => {
  const workspace = path.join(teamDir(), 'dev-alice', 'widget');
  const printed = await sandbox.ok(['chat', 'dev-alice', '--print-prompt', '--hat', 'implementer']);
  assert.match(printed.stdout, /^# You are dev-alice, the dev of the bm team 'alpha'/);
  assert.ok(printed.stdout.includes(readFileSync(path.join(workspace, 'PROMPT.md'), 'utf8').trim().split('\n')[0]), 'the role prompt is in it');
  assert.match(printed.stdout, /## You wear the hat 'implementer'/);
  const log = path.join(sandbox.dir, 'chat-calls.jsonl');
  await sandbox.ok(['chat', 'dev-alice', '--hat', 'implementer', '--continue'], { env: { BM_STUB_LOG: log } });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { bin: string; argv: string[]; cwd: string; mode: string; appendSystemPromptFile: { text: string } | null; env: Record<string, string> });
  assert.is(calls.length, 1);
  const [call] = calls;
  assert.is(call.bin, 'claude');
  assert.is(call.mode, 'interactive');
  assert.is(call.cwd, workspace);
  assert.ok(call.argv.includes('--continue'), call.argv.join(' '));
  assert.is(call.appendSystemPromptFile?.text, printed.stdout);
  assert.is(call.env.GH_TOKEN, TOKEN, 'the member\'s token, as its runs have');
  const badHat = await sandbox.bm(['chat', 'dev-alice', '--hat', 'juggler']);
  assert.is(badHat.code, 1);
  assert.match(badHat.stderr, /Hat 'juggler' not found for dev-alice.*implementer/);
});

test('teams use switches the default; teams remove unregisters (keeping or purging the files)', async () => {
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'beta', '--profile', 'scrum-compact', '--workzone', sandbox.workzone, '--no-github']);
  const used = await sandbox.json<{ default: string; previous: string }>(['teams', 'use', 'beta', '--json']);
  assert.equal(used, { default: 'beta', previous: 'alpha' });
  assert.is((await sandbox.json<{ team: string }>(['status', '--json'])).team, 'beta');
  const unknown = await sandbox.bm(['teams', 'use', 'gamma']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /Team 'gamma' not found/);

  const unconfirmed = await sandbox.bm(['teams', 'remove', 'beta']);
  assert.is(unconfirmed.code, 1);
  assert.match(unconfirmed.stderr, /without confirmation.*--yes/);
  const removed = await sandbox.json<{ kept: string; default: string }>(['teams', 'remove', 'beta', '--yes', '--json']);
  assert.is(removed.default, 'alpha');
  assert.ok(existsSync(removed.kept), 'the files stay without --purge');
  assert.equal((await sandbox.json<{ name: string }[]>(['teams', 'list', '--json'])).map((t) => t.name), ['alpha']);

  await sandbox.ok(['init', '--non-interactive', '--team-name', 'gamma', '--profile', 'scrum-compact', '--workzone', sandbox.workzone, '--no-github']);
  await sandbox.ok(['teams', 'remove', 'gamma', '--purge', '--yes']);
  assert.not.ok(existsSync(path.join(sandbox.workzone, 'gamma')));
  await stillWorks();
});

test.run();
