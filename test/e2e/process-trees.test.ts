/**
 * A member is its whole process tree: the stub ralph leaves a child behind (in its process group,
 * or escaped into a session of its own with setsid), and `bm stop`, a crash seen by `bm status`
 * and a lost state file must still leave nothing running. Every test ends with the sandbox's
 * orphan check.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from '../support/processes.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

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

async function waitFor(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
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

test.run();
