/**
 * A member is its whole process tree: the stub ralph leaves a child behind (in its process group,
 * or escaped into a session of its own with setsid), and `bm stop`, a crash seen by `bm status`
 * and a lost state file must still leave nothing running. Every test ends with the sandbox's
 * orphan check.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from '../support/processes.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';
import { waitFor } from '../support/wait.ts';

let sandbox: Sandbox;

const FAST = { BM_START_CHECK_MS: '300', BM_STOP_GRACE_MS: '5000', BM_STOP_KILL_MS: '1000', STUB_RALPH_TICK_MS: '20' };

test.before.each(() => {
  sandbox = createSandbox(FAST);
});
test.after.each(() => sandbox.cleanup());

const workspace = (member: string) => path.join(sandbox.workzone, 'alpha', member);

/** The pids of the children the stub left in `member`'s workspace. */
function children(member: string): number[] {
  const file = path.join(workspace(member), '.ralph-stub-children');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}


async function team(hires: string[]): Promise<void> {
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  for (const hire of hires) {
    const [role, name] = hire.split(':');
    await sandbox.ok(['hire', role, ...(name ? ['--name', name] : [])]);
  }
  await sandbox.ok(['teams', 'sync']);
}

test('bm stop ends the children a member left in its group and the one that escaped with setsid', async () => {
  await team(['dev:alice', 'qe:quinn']);
  writeFileSync(path.join(workspace('dev-alice'), '.ralph-stub-mode'), 'persistent\n');
  await sandbox.ok(['start', 'dev-alice'], { env: { STUB_RALPH_CHILD: 'group' } });
  await sandbox.ok(['start', 'qe-quinn'], { env: { STUB_RALPH_CHILD: 'setsid' } });
  await waitFor('both children', () => children('dev-alice').length === 1 && children('qe-quinn').length === 1);
  const [inGroup] = children('dev-alice');
  const [escaped] = children('qe-quinn');

  const running = await sandbox.ok(['status']);
  assert.not.match(running.stderr, /no record/, 'an escaped child of a running member is not a stray');

  const stopped = await sandbox.ok(['stop']);
  assert.match(stopped.stderr, /qe-quinn: ended 1 process\(es\) still working in its workspace with no record \(PID \d+\)/);
  assert.not.ok(alive(inGroup), 'the child in the member\'s group was ended with it');
  assert.not.ok(alive(escaped), 'the child that escaped the group was found in the workspace and ended');
});

test('a crash seen by bm status ends what the member left in its group', async () => {
  await team(['dev:alice']);
  writeFileSync(path.join(workspace('dev-alice'), '.ralph-stub-mode'), 'persistent\n');
  await sandbox.ok(['start'], { env: { STUB_RALPH_CHILD: 'group' } });
  await waitFor('the child', () => children('dev-alice').length === 1);
  const [child] = children('dev-alice');
  const lead = Number(readFileSync(path.join(workspace('dev-alice'), '.ralph-stub-pid'), 'utf8'));
  process.kill(lead, 'SIGKILL');
  await waitFor('the lead process to die', () => !alive(lead));
  assert.ok(alive(child), 'the child outlives its lead process');

  const crashed = await sandbox.ok(['status']);
  assert.match(crashed.stdout, /dev-alice\s+dev\s+crashed/);
  assert.not.ok(alive(child), 'status ended the crashed member\'s leftover child');
  const again = await sandbox.ok(['status']);
  assert.match(again.stdout, /dev-alice\s+dev\s+stopped/);
  assert.not.match(again.stderr, /no record/);
});

test('with state.json lost, status still sees the member\'s processes and stop ends them', async () => {
  await team(['dev:alice']);
  await sandbox.ok(['start'], { env: { STUB_RALPH_MODE: 'persistent', STUB_RALPH_CHILD: 'setsid' } });
  await waitFor('the child', () => children('dev-alice').length === 1);
  const lead = Number(readFileSync(path.join(workspace('dev-alice'), '.ralph-stub-pid'), 'utf8'));
  rmSync(path.join(sandbox.bmHome, 'state.json'));
  rmSync(path.join(sandbox.workzone, 'alpha', 'topology.json'));

  const status = await sandbox.ok(['status']);
  assert.match(status.stdout, /dev-alice\s+dev\s+stopped/);
  assert.match(status.stderr, new RegExp(`dev-alice: process ${lead} \\(.*\\) is working in ${workspace('dev-alice')} but bm has no record of it running; \`bm stop dev-alice -t alpha\` ends it`));
  assert.match(status.stderr, new RegExp(`dev-alice: process ${children('dev-alice')[0]} `));

  const stopped = await sandbox.ok(['stop']);
  assert.match(stopped.stdout, /ended the unrecorded processes of 1 member/);
  assert.not.ok(alive(lead));
  assert.not.ok(alive(children('dev-alice')[0]));
});

test('fire stops the member everywhere and archives its workspace; the name hired again starts fresh', async () => {
  await team(['qe:', 'qe:']);
  await sandbox.ok(['start', 'qe-02'], { env: { STUB_RALPH_MODE: 'persistent', STUB_RALPH_CHILD: 'setsid' } });
  await waitFor('the child', () => children('qe-02').length === 1);
  const [escaped] = children('qe-02');
  writeFileSync(path.join(workspace('qe-02'), 'notes-of-the-old-qe-02.md'), 'unpushed work\n');

  const fired = await sandbox.ok(['fire', 'qe-02', '--yes']);
  const moved = /Its workspaces were moved to (\S+); delete that folder/.exec(fired.stdout);
  assert.ok(moved, fired.stdout);
  assert.ok(moved[1].startsWith(path.join(sandbox.workzone, 'alpha', 'archive', 'qe-02-')));
  assert.ok(existsSync(path.join(moved[1], 'notes-of-the-old-qe-02.md')), 'the old files are in the archive');
  assert.not.ok(alive(escaped), 'its escaped process was ended');
  assert.not.ok(existsSync(workspace('qe-02')));

  const hired = await sandbox.ok(['hire', 'qe']);
  assert.match(hired.stdout + hired.stderr, /qe-02/, 'the gap is filled: the same name again');
  await sandbox.ok(['teams', 'sync']);
  assert.ok(existsSync(path.join(workspace('qe-02'), '.botminter')), 'a new workspace');
  assert.not.ok(existsSync(path.join(workspace('qe-02'), 'notes-of-the-old-qe-02.md')), 'nothing of the fired member');
  assert.not.ok(existsSync(path.join(workspace('qe-02'), '.ralph')), 'no ralph state of the fired member');

  const purged = await sandbox.ok(['fire', 'qe-01', '--yes', '--purge', '--json']);
  assert.equal(JSON.parse(purged.stdout), { team: 'alpha', member: 'qe-01', role: 'qe', archived: null, purged: true });
  assert.not.ok(existsSync(workspace('qe-01')));
});

test('the first project added under a running member: sync refuses that member alone, --restart restructures it and starts it again', async () => {
  await team(['dev:eve', 'qe:quinn']);
  await sandbox.ok(['start', 'dev-eve'], { env: { STUB_RALPH_MODE: 'persistent', STUB_RALPH_CHILD: 'setsid' } });
  await waitFor('the child', () => children('dev-eve').length === 1);
  const lead = Number(readFileSync(path.join(workspace('dev-eve'), '.ralph-stub-pid'), 'utf8'));
  const [escaped] = children('dev-eve');
  writeFileSync(path.join(workspace('qe-quinn'), 'notes.md'), 'unpushed work\n');

  const fork = path.join(sandbox.dir, 'widget.git');
  const seed = path.join(sandbox.dir, 'widget-seed');
  mkdirSync(seed);
  sandbox.git(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', fork);
  sandbox.git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(seed, 'README.md'), '# widget\n');
  sandbox.git(seed, 'add', '-A');
  sandbox.git(seed, 'commit', '-q', '-m', 'initial');
  sandbox.git(seed, 'push', '-q', fork, 'main');
  await sandbox.ok(['projects', 'add', fork]);

  const plan = await sandbox.bm(['teams', 'sync', '--dry-run']);
  assert.is(plan.code, 1, 'the dry run says the running member would be refused');
  assert.match(plan.stdout, new RegExp(`create\\s+qe-quinn/widget\\s+\\S+\\n\\s+move the old workspace in ${workspace('qe-quinn')} to \\S+/archive/`));
  assert.ok(existsSync(path.join(workspace('qe-quinn'), '.git')), 'the dry run moved nothing');

  const refused = await sandbox.bm(['teams', 'sync']);
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`dev-eve: dev-eve is running in ${workspace('dev-eve')} \\(PID ${lead}, ${escaped} \\(not recorded\\)\\) and its workspace layout must change`));
  assert.match(refused.stderr, /`bm stop dev-eve -t alpha`.*`bm teams sync --restart`/);
  assert.not.ok(existsSync(path.join(workspace('dev-eve'), 'widget')), 'no workspace inside the running member\'s repo');
  assert.ok(alive(lead) && alive(escaped), 'the running member was left alone');
  // The other member carries on: its old workspace is archived, a new one made on the project.
  const archived = /qe-quinn: the team has projects now.*; its old workspace was moved to (\S+)\./.exec(refused.stderr);
  assert.ok(archived, refused.stderr);
  assert.ok(existsSync(path.join(archived[1], 'notes.md')), 'the old files are in the archive');
  assert.ok(existsSync(path.join(workspace('qe-quinn'), 'widget', '.botminter')), 'qe-quinn has its project workspace');
  assert.not.ok(existsSync(path.join(workspace('qe-quinn'), '.git')), 'the member folder is no repo any more');

  const restarted = await sandbox.ok(['teams', 'sync', '--restart']);
  assert.match(restarted.stderr, /dev-eve: stopped to restructure its workspace/);
  assert.match(restarted.stderr, /dev-eve: started \(PID \d+\)/);
  assert.not.ok(alive(lead), 'the old loop was stopped');
  assert.not.ok(alive(escaped), 'its escaped child too');
  assert.ok(existsSync(path.join(workspace('dev-eve'), 'widget', '.botminter')), 'dev-eve has its project workspace');
  const status = JSON.parse((await sandbox.ok(['status', '--json'])).stdout) as { members: { name: string; status: string; workspace: string }[] };
  const eve = status.members.find((m) => m.name === 'dev-eve');
  assert.is(eve?.status, 'running');
  assert.is(eve?.workspace, path.join(workspace('dev-eve'), 'widget'));
  await sandbox.ok(['stop']);
});

test.run();
