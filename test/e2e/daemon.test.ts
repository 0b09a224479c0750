/**
 * The daemon in webhook mode, driven through the real CLI with real processes and real HTTP on
 * loopback: lifecycle and its files, signed deliveries built from recorded GitHub payloads
 * (relevant, irrelevant, forged, malformed, duplicate, a burst of 100), one-shot member runs
 * with the stub ralph, coexistence with `bm start`, run timeouts, and kill -9 of the daemon.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLines } from '../support/wait.ts';
import { alive, daemonDir, daemonJson, daemonTeam, deliver, example, httpRequest, journal, waitFor, webhookSecret } from '../support/daemon.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'alpha';
const MEMBERS = ['dev-alice', 'qe-quinn'];
const FAST = { BM_STOP_KILL_MS: '1000', BM_STOP_GRACE_MS: '3000', BM_START_CHECK_MS: '300', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '300' };

let sandbox: Sandbox;
let stubLog: string;
let secret: string;

interface Call { argv: string[]; cwd: string; pid: number }
interface DaemonStatusJson { running: boolean; pid: number | null; mode: string | null; port?: number; startedAt: string | null; lastEventAt: string | null; events: number; launches: number; inProgress: number; rejected?: number; stale?: boolean }

test.before(async () => {
  sandbox = createSandbox(FAST);
  stubLog = path.join(sandbox.dir, 'stub-calls.jsonl');
  sandbox.env.BM_STUB_LOG = stubLog;
  await daemonTeam(sandbox, TEAM, ['dev:alice', 'qe:quinn']);
  secret = webhookSecret(sandbox, TEAM);
});

test.after.each(async () => {
  // Every test leaves the daemon stopped; a failed one may not have.
  if ((await sandbox.json<DaemonStatusJson>(['daemon', 'status', '--json'])).running) await sandbox.bm(['daemon', 'stop']);
  // A failed test may leave a member that `bm start` started: the next test's runs would not start.
  await sandbox.bm(['stop', '-f']);
});
test.after(() => sandbox.cleanup());

const workspace = (member: string) => path.join(sandbox.workzone, TEAM, member);
const runCalls = (): Call[] => jsonLines<Call>(stubLog).filter((c) => c.argv[0] === 'run');
const ends = () => journal(sandbox, TEAM).filter((e) => e.type === 'run.end').length;
const starts = () => journal(sandbox, TEAM).filter((e) => e.type === 'run.start').length;
const status = () => sandbox.json<DaemonStatusJson>(['daemon', 'status', '--json']);
const stateMembers = () => {
  const file = path.join(sandbox.bmHome, 'state.json');
  return existsSync(file) ? Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { members: Record<string, unknown> }).members) : [];
};

async function startDaemon(env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; port: number }> {
  const result = await sandbox.ok(['daemon', 'start', '--port', '0'], { env });
  const match = /Daemon started \(PID (\d+)\), listening on http:\/\/127\.0\.0\.1:(\d+)\/webhook/.exec(result.stdout);
  assert.ok(match, `unexpected output: ${result.stdout}`);
  return { pid: Number(match[1]), port: Number(match[2]) };
}

/** Waits until every run started so far has ended. */
async function settled(): Promise<void> {
  await waitFor('runs to end', () => starts() > 0 && ends() === starts(), 10_000);
  const json = path.join(daemonDir(sandbox, TEAM), 'daemon.json');
  await waitFor('daemon.json to count no run in progress', () => !existsSync(json) || (JSON.parse(readFileSync(json, 'utf8')) as { inProgress: number }).inProgress === 0);
}

test('lifecycle: start, start twice, status, stop, files cleaned', async () => {
  const { pid, port } = await startDaemon();
  assert.ok(alive(pid), 'the daemon runs');
  const dir = daemonDir(sandbox, TEAM);
  for (const file of ['daemon.pid', 'daemon.json', 'daemon.log', 'journal.jsonl']) {
    assert.ok(existsSync(path.join(dir, file)), `${file} exists`);
    assert.is(statSync(path.join(dir, file)).mode & 0o777, 0o600, `${file} is private`);
  }
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'daemon.pid'), 'utf8')).pid, pid);

  const again = await sandbox.bm(['daemon', 'start', '--port', '0']);
  assert.is(again.code, 1);
  assert.match(again.stderr, new RegExp(`already running for team 'alpha' \\(PID ${pid}\\)`));

  const s = await status();
  assert.equal([s.running, s.pid, s.mode, s.port, s.events, s.launches, s.inProgress, s.lastEventAt], [true, pid, 'webhook', port, 0, 0, 0, null]);
  assert.ok(s.startedAt && Date.parse(s.startedAt) <= Date.now());
  const text = (await sandbox.ok(['daemon', 'status'])).stdout;
  assert.match(text, new RegExp(`Daemon: +running \\(PID ${pid}\\)`));
  assert.match(text, new RegExp(`Mode: +webhook \\(port ${port} on 127\\.0\\.0\\.1\\)`));
  assert.match(text, /Started: .*\(up \d+s\)/);
  assert.match(text, /Last event: +none yet/);
  assert.match(text, /Runs in progress: +0/);
  const team = await sandbox.json<{ daemon: { running: boolean; pid: number; mode: string; port: number } }>(['status', '--json']);
  assert.equal([team.daemon.running, team.daemon.pid, team.daemon.mode, team.daemon.port], [true, pid, 'webhook', port]);
  assert.match((await sandbox.ok(['status'])).stdout, new RegExp(`Daemon: +running \\(PID ${pid}, webhook mode, port ${port}\\)`));

  const health = await httpRequest(port, 'GET', '/health');
  assert.is(health.status, 200);
  assert.is((JSON.parse(health.body) as { team: string }).team, TEAM);
  assert.match((await sandbox.ok(['daemon', 'log'])).stdout, /INFO daemon started for team 'alpha'/);

  const stopped = await sandbox.ok(['daemon', 'stop']);
  assert.match(stopped.stdout, new RegExp(`Daemon stopped \\(PID ${pid}\\)`));
  assert.not.ok(alive(pid), 'the daemon is gone');
  assert.equal(readdirSync(dir).filter((f) => !f.includes('.log.')).sort(), ['daemon.log', 'journal.jsonl'], 'only the log and journal stay');
  assert.match((await sandbox.ok(['daemon', 'status'])).stdout, /^Daemon: not running$/m);
  assert.equal(await status(), { running: false, pid: null, mode: null, startedAt: null, lastEventAt: null, events: 0, launches: 0, inProgress: 0 });
  const twice = await sandbox.bm(['daemon', 'stop']);
  assert.is(twice.code, 1);
  assert.match(twice.stderr, /Daemon not running for team 'alpha'/);
});

test('three starts at once leave exactly one daemon', async () => {
  const results = await Promise.all([0, 1, 2].map(() => sandbox.bm(['daemon', 'start', '--port', '0'])));
  const winners = results.filter((r) => r.code === 0);
  assert.is(winners.length, 1, results.map((r) => r.stderr).join('\n'));
  for (const loser of results.filter((r) => r.code !== 0)) {
    assert.is(loser.code, 1);
    assert.match(loser.stderr, /Daemon already running for team 'alpha'/, loser.stderr);
  }
  const s = await status();
  assert.ok(s.running);
  assert.match(winners[0].stdout, new RegExp(`Daemon started \\(PID ${s.pid}\\)`));
  await sandbox.ok(['daemon', 'stop']);
});

test('start fails loudly and cleans up when the port is taken, or without a webhook secret', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const result = await sandbox.bm(['daemon', 'start', '--port', String(port)]);
    assert.is(result.code, 1);
    assert.match(result.stderr, new RegExp(`The daemon failed to start: port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
  const dir = daemonDir(sandbox, TEAM);
  for (const file of ['daemon.pid', 'daemon.json', 'daemon.sock']) assert.not.ok(existsSync(path.join(dir, file)), `${file} removed`);
  assert.is((await status()).running, false);

  const config = path.join(sandbox.bmHome, 'config.yml');
  const original = readFileSync(config, 'utf8');
  writeFileSync(config, original.replace(/webhook_secret: .*/, 'webhook_secret: ""'), { mode: 0o600 });
  try {
    const refused = await sandbox.bm(['daemon', 'start', '--port', '0']);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /Team 'alpha' has no webhook secret, and webhook mode accepts only signed deliveries/);
    assert.is((await status()).running, false);
  } finally {
    writeFileSync(config, original, { mode: 0o600 });
  }
  const usage = await sandbox.bm(['daemon', 'start', '--mode', 'push']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /Invalid daemon mode 'push'\. Use 'webhook' or 'poll'\./);
});

test('deliveries: relevant runs every member once; irrelevant, forged and malformed run nothing; duplicates and bursts coalesce', async () => {
  const before = runCalls().length;
  const { port } = await startDaemon();

  const accepted = await deliver(port, secret, 'issues', example('issues', 'opened'));
  assert.is(accepted.status, 202);
  assert.ok(accepted.ms < 1000, `acknowledged in ${accepted.ms} ms`);
  await waitFor('both members to run', () => ends() >= 2);
  await settled();
  const runs = runCalls().slice(before);
  assert.is(runs.length, 2, 'one run per member');
  assert.equal(runs.map((c) => c.cwd).sort(), MEMBERS.map(workspace));
  for (const call of runs) assert.equal(call.argv, ['run', '-c', 'ralph.oneshot.yml', '-P', 'PROMPT.md']);
  for (const member of MEMBERS) {
    assert.match(readFileSync(path.join(workspace(member), 'ralph.oneshot.yml'), 'utf8'), /^ {2}persistent: false$/m);
    assert.match(readFileSync(path.join(workspace(member), 'ralph.yml'), 'utf8'), /^ {2}persistent: true$/m, 'the persistent config is untouched');
    assert.match(readFileSync(path.join(sandbox.bmHome, 'logs', TEAM, `${member}.log`), 'utf8'), /bm daemon: ralph run -c ralph\.oneshot\.yml -P PROMPT\.md/);
  }
  assert.equal(stateMembers(), [], 'finished runs leave no state');
  const afterFirst = await status();
  assert.equal([afterFirst.events, afterFirst.launches, afterFirst.inProgress], [1, 2, 0]);
  assert.ok(afterFirst.lastEventAt);

  const quiet = runCalls().length;
  const ignored = [
    await deliver(port, secret, 'star', example('star', 'created')),
    await deliver(port, secret, 'push', example('push')),
    await deliver(port, secret, 'issues', { ...example('issues', 'opened'), action: 'pinned' }),
    await deliver(port, secret, 'ping', example('ping')),
  ];
  assert.equal(ignored.map((r) => r.status), [200, 200, 200, 200]);
  assert.equal(ignored.map((r) => (JSON.parse(r.body) as { outcome: string }).outcome), ['ignored', 'ignored', 'ignored', 'ping']);

  const body = JSON.stringify(example('issues', 'opened'));
  const tampered = `${body.slice(0, -1)} }`;
  const refused: [string, Promise<{ status: number }>, number][] = [
    ['wrong secret', deliver(port, secret, 'issues', body, { secret: 'not-the-secret' }), 401],
    ['no signature', deliver(port, secret, 'issues', body, { signature: null }), 401],
    ['garbage signature', deliver(port, secret, 'issues', body, { signature: 'sha256=zz' }), 401],
    ['empty signature', deliver(port, secret, 'issues', body, { signature: '' }), 401],
    ['sha1 only', deliver(port, secret, 'issues', body, { signature: 'sha1=0123456789abcdef0123456789abcdef01234567' }), 401],
    ['body changed after signing', (async () => {
      const { sign } = await import('@octokit/webhooks-methods');
      return deliver(port, secret, 'issues', tampered, { signature: await sign(secret, body) });
    })(), 401],
    ['form content type without a payload field', deliver(port, secret, 'issues', body, { contentType: 'application/x-www-form-urlencoded' }), 400],
    ['XML', deliver(port, secret, 'issues', body, { contentType: 'application/xml' }), 415],
    ['malformed JSON, validly signed', deliver(port, secret, 'issues', '{"action": "opened",'), 400],
    ['missing event header', httpRequest(port, 'POST', '/webhook', { 'content-type': 'application/json', 'x-github-delivery': 'x', 'x-hub-signature-256': 'sha256=00' }, '{}'), 400],
    ['GET /webhook', httpRequest(port, 'GET', '/webhook'), 405],
    ['unknown path', httpRequest(port, 'POST', '/api/members/start', { 'content-type': 'application/json' }, '{}'), 404],
    ['over 25 MB', httpRequest(port, 'POST', '/webhook', { 'content-type': 'application/json', 'content-length': 25 * 1024 * 1024 + 1, 'x-github-event': 'issues', 'x-github-delivery': 'big', 'x-hub-signature-256': 'sha256=00' }, '{'), 413],
  ];
  for (const [what, pending, expected] of refused) assert.is((await pending).status, expected, what);
  const unicode = '{"action":"opened","issue":{"title":"\\u003cb\\u003e \u2665 \ud83c\udf89 \\/ \u2028 end"}}';
  assert.is((await deliver(port, secret, 'issues', unicode)).status, 202, 'HMAC over the raw bytes, whatever they hold');
  await waitFor('the unicode delivery to run both members', () => runCalls().length === quiet + 2);
  await settled();
  assert.is(runCalls().length, quiet + 2, 'nothing else ran');

  // A hook whose content type is `form`: the same payload as `payload=`, signed over the form.
  const formPing = await deliver(port, secret, 'ping', { ...example('ping'), hook: { ...(example('ping').hook as object), config: { content_type: 'form' } } }, { form: true });
  assert.equal([formPing.status, (JSON.parse(formPing.body) as { outcome: string }).outcome], [200, 'ping']);
  const formTampered = await deliver(port, secret, 'issues', unicode, { form: true, signature: await (await import('@octokit/webhooks-methods')).sign(secret, unicode) });
  assert.is(formTampered.status, 401, 'a form is verified over the form body, not the JSON inside it');
  assert.is((await deliver(port, secret, 'issues', unicode, { form: true })).status, 202);
  await waitFor('the form delivery to run both members', () => runCalls().length === quiet + 4);
  await settled();
  assert.is((await status()).rejected, refused.length - 2 + 1, 'every refused delivery is counted (not the 404 and 405)');
  assert.not.ok(journal(sandbox, TEAM).some((e) => e.type === 'rejected'), 'nothing from an unauthenticated request is journaled');
  assert.not.ok(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8').includes(secret), 'the secret is never logged');

  const duplicate = runCalls().length;
  const first = await deliver(port, secret, 'issue_comment', example('issue_comment', 'created'), { id: 'dup-1' });
  const second = await deliver(port, secret, 'issue_comment', example('issue_comment', 'created'), { id: 'dup-1' });
  assert.equal([first.status, second.status], [202, 200]);
  assert.is((JSON.parse(second.body) as { outcome: string }).outcome, 'duplicate');
  await waitFor('the comment to run both members', () => runCalls().length === duplicate + 2);
  await settled();
  assert.is(runCalls().length, duplicate + 2, 'the duplicate launched nothing');

  assert.is((await status()).events, 1 + 4 + 1 + 2 + 2, 'only verified deliveries count');
});

test('a burst of 100 deliveries runs each member at most twice', async () => {
  // Runs longer than the burst takes to arrive: one run, plus one follow-up for the rest.
  const { port } = await startDaemon({ STUB_RALPH_DELAY_MS: '2000' });
  const { sign } = await import('@octokit/webhooks-methods');
  const body = JSON.stringify(example('pull_request', 'opened'));
  const signature = await sign(secret, body);
  const before = runCalls().length;
  const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => deliver(port, secret, 'pull_request', body, { id: `burst-${i}`, signature })));
  const refused = replies.filter((r) => r.status !== 202);
  assert.ok(refused.length === 0, `every delivery acknowledged, but ${refused.length} got ${[...new Set(refused.map((r) => `${r.status} ${r.body}`))].join(', ')}`);
  // Every member's first run, then the follow-ups: on a loaded machine the launches trail the burst.
  await waitFor('the burst to run every member', () => MEMBERS.every((m) => runCalls().slice(before).some((c) => c.cwd === workspace(m))));
  await settled();
  const perMember = MEMBERS.map((m) => runCalls().slice(before).filter((c) => c.cwd === workspace(m)).length);
  for (const [i, count] of perMember.entries()) assert.ok(count >= 1 && count <= 2, `${MEMBERS[i]} ran ${count} times for 100 events`);
  assert.is((await status()).events, 100);
});

test('a member started by `bm start` is not launched again; the others are', async () => {
  const alice = () => runCalls().filter((c) => c.cwd === workspace('dev-alice')).length;
  const aliceRuns = alice();
  await sandbox.ok(['start', 'dev-alice']);
  // `bm start` returns once the process is alive; on a loaded machine its loop logs its call later.
  await waitFor('the loop `bm start` began to log its call', () => alice() === aliceRuns + 1);
  const { port } = await startDaemon();
  const before = runCalls().length;
  assert.is((await deliver(port, secret, 'issues', example('issues', 'opened'))).status, 202);
  await waitFor('qe-quinn to run', () => runCalls().length === before + 1);
  await settled();
  const skipped = journal(sandbox, TEAM).filter((e) => e.type === 'run.skip' && e.member === 'dev-alice');
  assert.ok(skipped.length >= 1, 'dev-alice was skipped');
  assert.equal(runCalls().slice(before).map((c) => c.cwd), [workspace('qe-quinn')]);
  const persistent = JSON.parse(readFileSync(path.join(sandbox.bmHome, 'state.json'), 'utf8')) as { members: Record<string, { pid: number }> };
  const pid = persistent.members['alpha/dev-alice'].pid;
  await sandbox.ok(['daemon', 'stop']);
  assert.ok(alive(pid), 'stopping the daemon leaves members started by `bm start` alone');
  await sandbox.ok(['stop', '-f']);
  // The stub's loop lock counts a zombie as alive; wait until it is reaped before the next run.
  await waitFor('the stopped member to be reaped', () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
});

test('a run over the timeout is stopped; stopping the daemon stops runs in progress', async () => {
  const { pid, port } = await startDaemon({ STUB_RALPH_DELAY_MS: '30000', BM_DAEMON_RUN_TIMEOUT_MS: '500' });
  const mark = journal(sandbox, TEAM).length;
  const fresh = () => journal(sandbox, TEAM).slice(mark);
  await deliver(port, secret, 'issues', example('issues', 'opened'));
  await waitFor('both runs to time out', () => fresh().filter((e) => e.type === 'run.timeout').length === 2, 10_000);
  await waitFor('both runs to end', () => fresh().filter((e) => e.type === 'run.end').length === 2, 5000);
  // run.end is written when the launcher sees the exit; the process table may lag it a moment.
  for (const e of fresh().filter((e) => e.type === 'run.start')) await waitFor(`run ${e.pid} to be stopped`, () => !alive(e.pid ?? 0), 3000);

  await deliver(port, secret, 'issues', example('issues', 'reopened'));
  await waitFor('new runs', () => fresh().filter((e) => e.type === 'run.start').length === 4);
  const running = fresh().filter((e) => e.type === 'run.start').slice(2).map((e) => e.pid ?? 0);
  await sandbox.ok(['daemon', 'stop']);
  assert.not.ok(alive(pid));
  for (const p of running) assert.not.ok(alive(p), `run ${p} stopped with the daemon`);
  assert.equal(stateMembers(), [], 'state cleaned');
});

test('kill -9 of the daemon: status says not running, start works again, no run is orphaned, acknowledged work is run again', async () => {
  const mark = journal(sandbox, TEAM).length;
  const { pid, port } = await startDaemon({ STUB_RALPH_DELAY_MS: '30000' });
  const accepted = await deliver(port, secret, 'issues', example('issues', 'opened'));
  assert.is(accepted.status, 202);
  // (The previous test stopped runs in progress, so this daemon may already run both members.)
  await waitFor('both runs to start', () => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'run.start').length === 2);
  const orphans = journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'run.start').map((e) => e.pid ?? 0);
  assert.ok(orphans.every(alive));
  process.kill(pid, 'SIGKILL');
  await waitFor('the daemon to die', () => !alive(pid));

  assert.match((await sandbox.ok(['daemon', 'status'])).stdout, new RegExp(`Daemon: not running \\(stale PID file of PID ${pid} removed\\)`));
  assert.is((await status()).running, false);
  const again = journal(sandbox, TEAM).length;
  const restarted = await sandbox.ok(['daemon', 'start', '--port', '0']);
  assert.match(restarted.stdout, /Daemon started \(PID \d+\)/);
  assert.match(restarted.stderr, /Stopped 2 member run\(s\) left behind by the previous daemon/);
  for (const p of orphans) assert.not.ok(alive(p), `orphaned run ${p} was stopped`);
  // The delivery was acknowledged but its runs were cut short: the new daemon runs every member again.
  const after = () => journal(sandbox, TEAM).slice(again);
  assert.ok(after().some((e) => e.type === 'recover'), 'the unfinished work is found');
  await waitFor('the recovery runs', () => after().filter((e) => e.type === 'run.end').length === 2);
  assert.equal(after().filter((e) => e.type === 'run.start').map((e) => e.member).sort(), MEMBERS);
  await waitFor('no run in progress', () => (JSON.parse(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.json'), 'utf8')) as { inProgress: number }).inProgress === 0);
  assert.equal(stateMembers(), []);
  const replayed = await deliver(daemonJson(sandbox, TEAM).port, secret, 'issues', example('issues', 'opened'), { id: String(journal(sandbox, TEAM).find((e) => e.type === 'delivery' && e.outcome === 'wake')?.id) });
  assert.is((JSON.parse(replayed.body) as { outcome: string }).outcome, 'duplicate', 'delivery ids survive a restart');
  await sandbox.ok(['daemon', 'stop']);
  const clean = journal(sandbox, TEAM).length;
  await startDaemon();
  assert.not.ok(journal(sandbox, TEAM).slice(clean).some((e) => e.type === 'recover'), 'nothing to recover after a clean stop with no work left');
  await sandbox.ok(['daemon', 'stop']);
});

test('a daemon that does not answer SIGTERM is killed, and bm stops its runs itself', async () => {
  const { pid, port } = await startDaemon({ STUB_RALPH_DELAY_MS: '30000' });
  const mark = journal(sandbox, TEAM).length;
  await deliver(port, secret, 'issues', example('issues', 'opened'));
  await waitFor('both runs to start', () => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'run.start').length === 2);
  const runs = journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'run.start').map((e) => e.pid ?? 0);
  // A stopped process cannot run its SIGTERM handler: it stands in for a hung daemon.
  process.kill(pid, 'SIGSTOP');
  const began = Date.now();
  const stopped = await sandbox.ok(['daemon', 'stop'], { env: { BM_DAEMON_STOP_MS: '1000' } });
  assert.match(stopped.stdout, new RegExp(`Daemon killed with SIGKILL \\(PID ${pid}\\)`));
  assert.ok(Date.now() - began < 8000, 'escalated after the grace period');
  assert.not.ok(alive(pid));
  for (const p of runs) assert.not.ok(alive(p), `run ${p} stopped by bm daemon stop`);
  assert.equal(stateMembers(), []);
  for (const file of ['daemon.pid', 'daemon.json']) assert.not.ok(existsSync(path.join(daemonDir(sandbox, TEAM), file)), `${file} removed`);
});

test.run();
