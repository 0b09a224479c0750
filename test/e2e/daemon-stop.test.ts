/**
 * The daemon and the operator: a one-shot run is its whole process tree (what it leaves behind,
 * in its group or escaped with setsid, is ended when it ends), and `bm stop` during daemon runs
 * means stop: no failure counted, no relaunch until a new event, shown by `bm daemon status`.
 * Each test ends with the sandbox's orphan check.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive, daemonTeam, deliver, example, journal, waitFor, webhookSecret, type JournalLine } from '../support/daemon.ts';
import { preparedSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'gamma';
const FAST = { BM_STOP_KILL_MS: '1000', BM_STOP_GRACE_MS: '3000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', BM_DAEMON_BACKOFF_MS: '100', BM_DAEMON_RUN_NICE: '0' };
// Runs keep the daemon's priority here: at nice 19 on a loaded test machine they can starve.

let sandbox: Sandbox;

test.before.each(async () => {
  // The team is made once, then copied for each test.
  sandbox = await preparedSandbox('team', (s) => daemonTeam(s, TEAM, ['dev:alice', 'qe:quinn']), FAST);
});
test.after.each(async () => {
  await sandbox.bm(['daemon', 'stop']);
  sandbox.cleanup();
});

interface Held { member: string; since: string }
interface StatusJson { running: boolean; inProgress: number; stoppedByOperator?: Held[] }

const since = (mark: number) => journal(sandbox, TEAM).slice(mark);
const of = (lines: JournalLine[], type: string) => lines.filter((e) => e.type === type);
const workspace = (member: string) => path.join(sandbox.workzone, TEAM, member);
const children = (member: string) => {
  const file = path.join(workspace(member), '.ralph-stub-children');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
};

async function bothEnd(mark: number): Promise<void> {
  await waitFor('both runs to end', () => of(since(mark), 'run.end').length === 2, 15_000);
}

async function startDaemon(env: NodeJS.ProcessEnv): Promise<number> {
  const result = await sandbox.ok(['daemon', 'start', '--port', '0'], { env });
  const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\/webhook/.exec(result.stdout);
  assert.ok(match, result.stdout);
  return Number(match[1]);
}

test('a daemon run that ends leaves nothing behind: its group and what escaped it are ended', async () => {
  const port = await startDaemon({ STUB_RALPH_DELAY_MS: '200', STUB_RALPH_CHILD: 'group' });
  const mark = journal(sandbox, TEAM).length;
  await deliver(port, webhookSecret(sandbox, TEAM), 'issues', example('issues', 'opened'));
  await bothEnd(mark);
  const left = [...children('dev-alice'), ...children('qe-quinn')];
  assert.is(left.length, 2, 'each run left a child in its group');
  for (const pid of left) assert.not.ok(alive(pid), `the child ${pid} was ended with its run`);
  const ended = of(since(mark), 'run.end');
  assert.ok(ended.every((e) => e.code === 0), 'the runs themselves ended normally');
});

test('a daemon run whose agent escaped with setsid: the escaped process is found in the workspace and ended', async () => {
  const port = await startDaemon({ STUB_RALPH_DELAY_MS: '200', STUB_RALPH_CHILD: 'setsid' });
  const mark = journal(sandbox, TEAM).length;
  await deliver(port, webhookSecret(sandbox, TEAM), 'issues', example('issues', 'opened'));
  await bothEnd(mark);
  const left = [...children('dev-alice'), ...children('qe-quinn')];
  assert.is(left.length, 2);
  for (const pid of left) assert.not.ok(alive(pid), `the escaped process ${pid} was ended with its run`);
});

test('bm stop during daemon runs: not a failure, no relaunch until a new event, shown by daemon status', async () => {
  const port = await startDaemon({ STUB_RALPH_DELAY_MS: '60000' });
  const secret = webhookSecret(sandbox, TEAM);
  const mark = journal(sandbox, TEAM).length;
  await deliver(port, secret, 'issues', example('issues', 'opened'));
  await waitFor('both runs to start', () => of(since(mark), 'run.start').length === 2, 15_000);

  const stopped = await sandbox.ok(['stop']);
  assert.match(stopped.stdout, /Stopped 2 member\(s\), 0 error\(s\)\./);
  await waitFor('the daemon to see both runs stopped by the operator', () => of(since(mark), 'run.stopped').length === 2);
  const status = await sandbox.json<StatusJson>(['daemon', 'status', '--json']);
  assert.is(status.inProgress, 0);
  assert.equal(status.stoppedByOperator?.map((h) => h.member), ['dev-alice', 'qe-quinn']);
  const text = (await sandbox.ok(['daemon', 'status'])).stdout;
  assert.match(text, /Operator stop: +dev-alice \(`bm stop` at .*; the next event runs it again/);
  const lines = since(mark);
  assert.is(of(lines, 'run.backoff').length, 0, 'a stop is not a failure');
  assert.is(of(lines, 'run.start').length, 2, 'nothing was relaunched after the stop (backoff is 100 ms here)');

  const event = journal(sandbox, TEAM).length;
  await deliver(port, secret, 'issue_comment', example('issue_comment', 'created'));
  await waitFor('a new event to run both members again', () => of(since(event), 'run.start').length === 2, 15_000);
  assert.equal((await sandbox.json<StatusJson>(['daemon', 'status', '--json'])).stoppedByOperator, []);
  await sandbox.ok(['stop']);
});

test.run();
