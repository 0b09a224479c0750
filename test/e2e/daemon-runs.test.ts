/**
 * How the daemon runs members, driven through the real CLI with the stub ralph: the cap on runs
 * in progress (`--max-runs`), backoff for a member whose runs keep failing, and the launcher
 * helper that spawns runs for the daemon at the lowest CPU priority (killed, it is replaced and
 * no run is lost track of).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive, daemonDir, daemonTeam, deliver, example, journal, launcherPid, waitFor, webhookSecret, type JournalLine } from '../support/daemon.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'beta';
const FAST = { BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '300' };

let sandbox: Sandbox;
let secret: string;

interface StatusJson { running: boolean; inProgress: number; maxRuns?: number; waiting?: number; backoff?: { member: string; failures: number; until: string; retrying: boolean }[] }

test.before(async () => {
  sandbox = createSandbox(FAST);
  await daemonTeam(sandbox, TEAM, ['dev:alice', 'qe:quinn']);
  secret = webhookSecret(sandbox, TEAM);
});

test.after.each(async () => {
  if ((await sandbox.json<StatusJson>(['daemon', 'status', '--json'])).running) await sandbox.bm(['daemon', 'stop']);
});
test.after(() => sandbox.cleanup());

const status = () => sandbox.json<StatusJson>(['daemon', 'status', '--json']);
const since = (mark: number) => journal(sandbox, TEAM).slice(mark);
const of = (lines: JournalLine[], type: string, member?: string) => lines.filter((e) => e.type === type && (member === undefined || e.member === member));
const settled = (mark: number) => of(since(mark), 'run.start').length === of(since(mark), 'run.end').length;
const workspace = (member: string) => path.join(sandbox.workzone, TEAM, member);
/** daemon.json says runs are in progress or waiting. */
const queueBusy = () => {
  const file = path.join(daemonDir(sandbox, TEAM), 'daemon.json');
  if (!existsSync(file)) return false;
  const record = JSON.parse(readFileSync(file, 'utf8')) as { inProgress: number; waiting?: number };
  return record.inProgress > 0 || (record.waiting ?? 0) > 0;
};

/** The nice value of a process's autogroup (its session's share of the CPUs), or undefined without autogroup. */
function autogroupNiceOf(pid: number): number | undefined {
  try {
    return Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** The nice value of a live process (field 19 of /proc/<pid>/stat). */
function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

async function startDaemon(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; port: number }> {
  const result = await sandbox.ok(['daemon', 'start', '--port', '0', ...args], { env });
  const match = /Daemon started \(PID (\d+)\), listening on http:\/\/127\.0\.0\.1:(\d+)\/webhook/.exec(result.stdout);
  assert.ok(match, result.stdout);
  return { pid: Number(match[1]), port: Number(match[2]) };
}

test('--max-runs 1: runs never overlap, the waiting member starts when a run ends, bursts still coalesce', async () => {
  const usage = await sandbox.bm(['daemon', 'start', '--max-runs', '0']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /Invalid run cap '0'/);

  const mark = journal(sandbox, TEAM).length;
  // The first run lasts until the statuses below are read, however slow the machine.
  const holds = ['dev-alice', 'qe-quinn'].map((member) => path.join(workspace(member), '.ralph-stub-mode'));
  for (const hold of holds) writeFileSync(hold, 'hold\n');
  const { port } = await startDaemon(['--max-runs', '1'], { STUB_RALPH_DELAY_MS: '600' });
  assert.is((await deliver(port, secret, 'issues', example('issues', 'opened'))).status, 202);
  await waitFor('one run to start and the other member to wait', () => of(since(mark), 'run.start').length === 1 && of(since(mark), 'run.wait').length === 1);
  const s = await status();
  assert.equal([s.inProgress, s.maxRuns, s.waiting], [1, 1, 1]);
  const text = (await sandbox.ok(['daemon', 'status'])).stdout;
  assert.match(text, /Runs in progress: 1 \(at most 1 at once\)/);
  assert.match(text, /Runs waiting: +1/);
  for (let i = 0; i < 5; i++) await deliver(port, secret, 'issue_comment', example('issue_comment', 'created'));
  for (const hold of holds) rmSync(hold);

  // The first run answers the first event; the waiting member's run and one follow-up each answer the rest.
  await waitFor('the queue to drain', () => of(since(mark), 'run.start').length >= 2 && settled(mark) && !queueBusy(), 15_000);
  const lines = since(mark);
  const intervals = of(lines, 'run.start').map((start) => {
    const end = of(lines, 'run.end').find((e) => e.pid === start.pid);
    assert.ok(end, `run ${start.pid} ended`);
    return { member: start.member, from: Date.parse(start.ts), to: Date.parse(end.ts) };
  }).sort((a, b) => a.from - b.from);
  for (let i = 1; i < intervals.length; i++) assert.ok(intervals[i].from >= intervals[i - 1].to, `run ${i} started before run ${i - 1} ended`);
  for (const member of ['dev-alice', 'qe-quinn']) {
    const runs = intervals.filter((r) => r.member === member).length;
    assert.ok(runs >= 1 && runs <= 2, `${member} ran ${runs} times for 6 events`);
  }
  assert.is((await status()).waiting, 0);
});

test('a member whose runs keep failing backs off exponentially, is shown by status, and recovers', async () => {
  const crashing = path.join(workspace('dev-alice'), '.ralph-stub-mode');
  writeFileSync(crashing, 'crash\n');
  try {
    const mark = journal(sandbox, TEAM).length;
    const env = { BM_DAEMON_BACKOFF_MS: '300', BM_DAEMON_BACKOFF_MAX_MS: '1000', STUB_RALPH_DELAY_MS: '50' };
    const { port } = await startDaemon(['--max-runs-per-hour', '20'], env);
    await deliver(port, secret, 'issues', example('issues', 'opened'));

    await waitFor('the first failures', () => of(since(mark), 'run.backoff', 'dev-alice').length >= 2, 10_000);
    const shown = (await sandbox.ok(['daemon', 'status'])).stdout;
    assert.match(shown, /Backing off: +dev-alice \(\d failed runs? in a row; retrying at /);
    const json = await status();
    assert.equal(json.backoff?.map((b) => [b.member, b.retrying]), [['dev-alice', true]]);

    // One run and five retries, then it waits for an event.
    await waitFor('the retries to be used up', () => of(since(mark), 'run.backoff', 'dev-alice').some((e) => e.retrying === false), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const lines = since(mark);
    const starts = of(lines, 'run.start', 'dev-alice');
    const ends = of(lines, 'run.end', 'dev-alice');
    assert.is(starts.length, 6, 'the first run and five retries, no more');
    assert.ok(ends.every((e) => e.code === 1));
    assert.is(of(lines, 'run.start', 'qe-quinn').length, 1, 'the healthy member ran once');
    const waits = starts.slice(1).map((start, i) => Date.parse(start.ts) - Date.parse(ends[i].ts));
    const expected = [300, 600, 1000, 1000, 1000];
    waits.forEach((wait, i) => assert.ok(wait >= expected[i] * 0.8 - 25, `retry ${i + 1} came ${wait} ms after the failure (backoff ${expected[i]} ms)`));
    assert.ok(waits[1] > waits[0] && waits[2] > waits[0], `the waits grow: ${waits.join(', ')}`);
    const log = readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8');
    assert.match(log, /WARN dev-alice: run failed \(code 1 after [\d.]+s\), the 2nd failure in a row; retrying in [\d.]+s/);
    assert.match(log, /the 6th failure in a row; no more automatic retries/);
    assert.match((await sandbox.ok(['daemon', 'status'])).stdout, /Backing off: +dev-alice \(6 failed runs in a row; no more retries; the next event runs it/);

    rmSync(crashing);
    await deliver(port, secret, 'issues', example('issues', 'reopened'));
    await waitFor('dev-alice to run again and succeed', () => of(since(mark), 'run.recovered', 'dev-alice').length === 1, 10_000);
    assert.equal(of(since(mark), 'run.end', 'dev-alice').at(-1)?.code, 0);
    await waitFor('runs to end', () => settled(mark) && !queueBusy());
    assert.equal((await status()).backoff, []);
    assert.not.match((await sandbox.ok(['daemon', 'status'])).stdout, /Backing off/);
  } finally {
    rmSync(crashing, { force: true });
  }
});

test('the launcher helper: killed mid-run, its runs are still seen to end and the next event is launched by a new one', async () => {
  const mark = journal(sandbox, TEAM).length;
  const { pid, port } = await startDaemon([], { STUB_RALPH_DELAY_MS: '800', BM_DAEMON_RUN_NICE: '19' });
  const helper = launcherPid(pid);
  assert.ok(helper && alive(helper), 'the daemon has a launcher helper');
  await deliver(port, secret, 'issues', example('issues', 'opened'));
  await waitFor('both runs to start', () => of(since(mark), 'run.start').length === 2);
  for (const run of of(since(mark), 'run.start')) {
    assert.is(niceOf(run.pid ?? 0), 19, 'runs get the lowest CPU priority');
    // Each run leads its own session; where the kernel groups sessions, the group is lowered too.
    if (autogroupNiceOf(pid) !== undefined) assert.is(autogroupNiceOf(run.pid ?? 0), 19, "the run's session gets the lowest share");
  }
  assert.is(niceOf(pid), 0, 'the daemon keeps its own');
  process.kill(helper, 'SIGKILL');
  await waitFor('both runs to be seen ending without the helper', () => of(since(mark), 'run.end').length === 2 && !queueBusy(), 10_000);
  assert.match(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8'), /ERROR the launcher helper exited unexpectedly \(SIGKILL\)/);
  const state = JSON.parse(readFileSync(path.join(sandbox.bmHome, 'state.json'), 'utf8')) as { members: Record<string, unknown> };
  assert.equal(Object.keys(state.members), [], 'their state entries are removed');

  await deliver(port, secret, 'issues', example('issues', 'reopened'));
  await waitFor('two more runs', () => of(since(mark), 'run.start').length === 4 && settled(mark), 10_000);
  assert.equal(of(since(mark), 'run.end').slice(2).map((e) => e.code), [0, 0]);
  const replacement = launcherPid(pid);
  assert.ok(replacement && replacement !== helper, 'a new helper launched them');
  await sandbox.ok(['daemon', 'stop']);
  assert.not.ok(alive(replacement), 'the helper ends with the daemon');
});

test.run();
