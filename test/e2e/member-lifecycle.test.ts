/**
 * Member lifecycle on the local formation, driven through the real CLI with the stub ralph:
 * start, status, crash, stop (graceful, escalated, forced, partial), logs, fire, and the safety
 * cases (ralph missing, a member that dies at once, a reused pid, two starts at once, corrupt
 * files). Every test ends with the sandbox's orphan check: a stub left running fails it.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from '../support/processes.ts';
import { BM_COMMAND, preparedSandbox, seededRepo, type Sandbox } from '../support/sandbox.ts';
import { jsonLines, waitFor } from '../support/wait.ts';

let sandbox: Sandbox;
let stubLog: string;

const FAST = { BM_START_CHECK_MS: '400', BM_STOP_GRACE_MS: '5000', BM_STOP_KILL_MS: '1000', STUB_RALPH_TICK_MS: '20' };

test.after.each(() => sandbox.cleanup());

interface Call { bin: string; argv: string[]; cwd: string; pid: number; env: Record<string, string> }
interface Endpoint { type: string; pid: number; started: string; workspace: string }
interface Row { name: string; key: string; role: string; status: string; endpoint: Endpoint | null; startedAt: string | null }
interface Status { team: string; profile: string; formation: string | null; daemon: { running: boolean; pid: number | null; mode: string | null }; members: Row[]; warnings: string[] }
interface StateFile { members: Record<string, { pid: number; started: string; started_at: string; workspace: string; member: string }> }

const teamDir = () => path.join(sandbox.workzone, 'alpha');
const topologyFile = () => path.join(teamDir(), 'topology.json');
const stateFile = () => path.join(sandbox.bmHome, 'state.json');
const workspace = (member: string) => path.join(teamDir(), member);

/**
 * This test's sandbox: a team 'alpha' with the given members (role:name) and projects (made as
 * local repos), workspaces provisioned by `bm teams sync`. Made once per shape and copied for
 * each later test that asks for the same.
 */
async function team(hires = ['dev:alice', 'qe:quinn', 'reviewer:rita'], projects: string[] = []): Promise<void> {
  sandbox = await preparedSandbox([...hires, ...projects].join(' '), async (s) => {
    const init = ['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', s.workzone, '--no-github'];
    await s.ok([...init, ...projects.flatMap((name) => ['--project', seededRepo(s, name)])]);
    for (const hire of hires) {
      const [role, name] = hire.split(':');
      await s.ok(['hire', role, '--name', name]);
    }
    await s.ok(['teams', 'sync']);
  }, FAST);
  stubLog = path.join(sandbox.dir, 'stub-calls.jsonl');
  sandbox.env.BM_STUB_LOG = stubLog;
}

const calls = () => jsonLines<Call>(stubLog);

const runCalls = () => calls().filter((c) => c.argv[0] === 'run');
const stopCalls = () => calls().filter((c) => c.argv[0] === 'loops' && c.argv[1] === 'stop');


const readState = (): StateFile => (existsSync(stateFile()) ? JSON.parse(readFileSync(stateFile(), 'utf8')) as StateFile : { members: {} });
const status = () => sandbox.json<Status>(['status', '--json']);
const byName = (s: Status) => Object.fromEntries(s.members.map((m) => [m.key, m]));
const statuses = (s: Status) => Object.fromEntries(s.members.map((m) => [m.key, m.status]));

test('start 3, status, start again, a crash, graceful stop', async () => {
  await team();
  const started = await sandbox.ok(['start'], { env: { CLAUDECODE: '1', GH_TOKEN: 'ghp_membertoken000000000000000000000000' } });
  assert.match(started.stdout, /Started 3 member\(s\), skipped 0 \(already running\), 0 error\(s\)\./);
  for (const m of ['dev-alice', 'qe-quinn', 'reviewer-rita']) assert.match(started.stderr, new RegExp(`${m}: started \\(PID \\d+\\)`));

  const runs = runCalls();
  assert.is(runs.length, 3);
  for (const call of runs) {
    assert.equal(call.argv, ['run', '-P', 'PROMPT.md'], 'the prompt FILE flag, not inline text');
    assert.ok([workspace('dev-alice'), workspace('qe-quinn'), workspace('reviewer-rita')].includes(call.cwd), `cwd ${call.cwd} is a workspace`);
    assert.not.ok('CLAUDECODE' in call.env, 'CLAUDECODE is removed');
    assert.is(call.env.GH_TOKEN, 'ghp_membertoken000000000000000000000000');
  }

  const state = readState();
  assert.equal(Object.keys(state.members).sort(), ['alpha/dev-alice', 'alpha/qe-quinn', 'alpha/reviewer-rita']);
  for (const entry of Object.values(state.members)) {
    assert.ok(alive(entry.pid), `pid ${entry.pid} runs`);
    assert.match(entry.started, /^\d+@/, 'the process start time is recorded');
  }
  assert.is(statSync(stateFile()).mode & 0o777, 0o600);

  assert.is(statSync(topologyFile()).mode & 0o777, 0o600, 'topology.json is private');
  const topology = JSON.parse(readFileSync(topologyFile(), 'utf8')) as { formation: string; members: Record<string, { endpoint: Endpoint }> };
  assert.is(topology.formation, 'local');
  assert.equal(topology.members['dev-alice'].endpoint, { type: 'local', pid: state.members['alpha/dev-alice'].pid, started: state.members['alpha/dev-alice'].started, workspace: workspace('dev-alice') });

  const first = await status();
  assert.equal([first.team, first.profile, first.formation], ['alpha', 'scrum', 'local']);
  assert.equal(first.daemon, { running: false, pid: null, mode: null });
  assert.equal(statuses(first), { 'dev-alice': 'running', 'qe-quinn': 'running', 'reviewer-rita': 'running' });
  assert.is(byName(first)['qe-quinn'].role, 'qe');
  const table = await sandbox.ok(['status']);
  assert.match(table.stdout, /Team: +alpha/);
  assert.match(table.stdout, /Member\tRole\tStatus\tIssue\tHat\tLast output\tEndpoint\tStarted/);
  assert.match(table.stdout, new RegExp(`dev-alice\tdev\trunning\t[^\t]*\t[^\t]*\t[^\t]*\tpid ${state.members['alpha/dev-alice'].pid}\t\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d`));
  const listed = await sandbox.json<{ name: string; status: string }[]>(['members', 'list', '--json']);
  assert.equal(listed.map((m) => m.status), ['running', 'running', 'running']);

  const again = await sandbox.ok(['start']);
  assert.match(again.stdout, /Started 0 member\(s\), skipped 3 \(already running\)/);
  assert.match(again.stderr, new RegExp(`dev-alice: already running \\(PID ${state.members['alpha/dev-alice'].pid}\\)`));
  assert.is(runCalls().length, 3, 'no second ralph was launched');
  assert.equal(readState(), state, 'same pids, same entries');

  const victim = state.members['alpha/qe-quinn'].pid;
  process.kill(victim, 'SIGKILL');
  await waitFor('the killed member to die', () => !alive(victim));
  const crashed = await sandbox.ok(['status']);
  assert.match(crashed.stdout, /qe-quinn\tqe\tcrashed/);
  assert.match(crashed.stderr, /qe-quinn crashed/);
  const after = await status();
  assert.is(byName(after)['qe-quinn'].status, 'stopped', 'a crash is reported once');
  assert.is(byName(after)['qe-quinn'].endpoint, null);
  assert.equal(Object.keys(readState().members).sort(), ['alpha/dev-alice', 'alpha/reviewer-rita']);

  const stopped = await sandbox.ok(['stop']);
  assert.match(stopped.stdout, /Stopped 2 member\(s\), 0 error\(s\)\./);
  assert.match(stopped.stderr, /dev-alice: stopped in/);
  assert.is(stopCalls().length, 2, 'each running member got `ralph loops stop`');
  for (const call of stopCalls()) assert.ok([workspace('dev-alice'), workspace('reviewer-rita')].includes(call.cwd));
  for (const entry of Object.values(state.members)) assert.not.ok(alive(entry.pid), `pid ${entry.pid} is gone`);
  assert.not.ok(existsSync(topologyFile()), 'the topology is removed');
  assert.equal(readState().members, {});
  const final = await status();
  assert.is(final.formation, null);
  assert.equal(statuses(final), { 'dev-alice': 'stopped', 'qe-quinn': 'stopped', 'reviewer-rita': 'stopped' });

  const nothing = await sandbox.ok(['stop']);
  assert.match(nothing.stdout, /No members running for team 'alpha'\./);
});

test('a member that ignores SIGTERM is killed by escalation', async () => {
  await team(['dev:alice']);
  writeFileSync(path.join(workspace('dev-alice'), '.ralph-stub-mode'), 'ignore-sigterm\n');
  // The iteration in progress never ends, so the graceful stop runs out of time.
  await sandbox.ok(['start'], { env: { STUB_RALPH_STOP_DELAY_MS: '60000' } });
  const pid = readState().members['alpha/dev-alice'].pid;
  const began = Date.now();
  const stopped = await sandbox.ok(['stop'], { env: { BM_STOP_GRACE_MS: '300', BM_STOP_KILL_MS: '400' } });
  const took = Date.now() - began;
  assert.match(stopped.stderr, /dev-alice: killed with SIGKILL/);
  assert.match(stopped.stdout, /Stopped 1 member\(s\), 0 error\(s\)/);
  assert.not.ok(alive(pid));
  assert.match(readFileSync(path.join(workspace('dev-alice'), '.ralph-stub-sigterm.log'), 'utf8'), /SIGTERM ignored/, 'SIGTERM came before SIGKILL');
  assert.ok(took < 5000, `escalation took ${took} ms`);
  assert.not.ok(existsSync(topologyFile()));
});

test('bm stop -f goes straight to SIGTERM', async () => {
  await team(['dev:alice', 'qe:quinn']);
  await sandbox.ok(['start']);
  const pids = Object.values(readState().members).map((e) => e.pid);
  const stopped = await sandbox.ok(['stop', '-f']);
  assert.match(stopped.stderr, /dev-alice: terminated with SIGTERM/);
  assert.match(stopped.stdout, /Stopped 2 member\(s\)/);
  assert.is(stopCalls().length, 0, 'no graceful request with -f');
  for (const pid of pids) assert.not.ok(alive(pid));
  assert.not.ok(existsSync(topologyFile()));
});

test('stop one member only; the others keep running', async () => {
  await team();
  await sandbox.ok(['start']);
  const before = readState();
  const stopped = await sandbox.ok(['stop', 'qe-quinn']);
  assert.match(stopped.stdout, /Stopped 1 member\(s\)/);
  assert.not.ok(alive(before.members['alpha/qe-quinn'].pid));
  assert.ok(alive(before.members['alpha/dev-alice'].pid));
  assert.equal(Object.keys(readState().members).sort(), ['alpha/dev-alice', 'alpha/reviewer-rita']);
  const topology = JSON.parse(readFileSync(topologyFile(), 'utf8')) as { members: Record<string, unknown> };
  assert.equal(Object.keys(topology.members).sort(), ['dev-alice', 'reviewer-rita']);
  assert.equal(statuses(await status()), { 'dev-alice': 'running', 'qe-quinn': 'stopped', 'reviewer-rita': 'running' });
  await sandbox.ok(['stop']);
  assert.not.ok(existsSync(topologyFile()));
});

test('ralph missing: a clear error, nothing recorded', async () => {
  await team(['dev:alice']);
  const result = await sandbox.bm(['start'], { env: { PATH: '/usr/bin:/bin' } });
  assert.is(result.code, 1);
  assert.match(result.stderr, /^Error: 'ralph' not found in PATH\. Install ralph-orchestrator/);
  assert.equal(readState().members, {});
  assert.not.ok(existsSync(topologyFile()));
});

test('a member that exits immediately is reported with its last log lines', async () => {
  await team(['dev:alice', 'qe:quinn']);
  // RObot enabled without a token: ralph refuses at start-up, as the real one does.
  appendFileSync(path.join(workspace('qe-quinn'), 'ralph.yml'), '\nRObot:\n  enabled: true\n  timeout_seconds: 60\n');
  const result = await sandbox.bm(['start']);
  assert.is(result.code, 1);
  assert.match(result.stdout, /Started 1 member\(s\), skipped 0 \(already running\), 1 error\(s\)\./);
  assert.match(result.stderr, /qe-quinn: process exited immediately \(PID \d+\)\. Last lines of .*qe-quinn\.log:\n {4}.*\n {4}Error: RObot is enabled/);
  assert.match(result.stderr, /Error: Some members failed to start/);
  assert.equal(Object.keys(readState().members), ['alpha/dev-alice']);
  const topology = JSON.parse(readFileSync(topologyFile(), 'utf8')) as { members: Record<string, unknown> };
  assert.equal(Object.keys(topology.members), ['dev-alice'], 'the topology holds the members that run');
  const log = await sandbox.ok(['logs', 'qe-quinn']);
  assert.match(log.stdout, /bm start: ralph run -P PROMPT\.md/);
  assert.match(log.stdout, /RObot is enabled/);
  await sandbox.ok(['stop']);
});

test('a pid in state that now belongs to another process is never signalled', async () => {
  await team(['dev:alice']);
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = stranger.pid ?? 0;
    const entry = { team: 'alpha', member: 'dev-alice', project: null, pid, started: '1@00000000', started_at: new Date().toISOString(), workspace: workspace('dev-alice') };
    writeFileSync(stateFile(), JSON.stringify({ members: { 'alpha/dev-alice': entry } }));
    writeFileSync(topologyFile(), JSON.stringify({ formation: 'local', created_at: entry.started_at, members: { 'dev-alice': { status: 'running', endpoint: { type: 'local', pid, started: entry.started, workspace: entry.workspace } } } }));
    const stopped = await sandbox.ok(['stop']);
    assert.match(stopped.stderr, /dev-alice: already exited/);
    assert.ok(alive(pid), 'the stranger was not signalled');
    assert.not.ok(existsSync(topologyFile()));

    writeFileSync(stateFile(), JSON.stringify({ members: { 'alpha/dev-alice': entry } }));
    assert.is(byName(await status())['dev-alice'].status, 'crashed', 'a reused pid is not our member');
    assert.ok(alive(pid));
    assert.equal(readState().members, {});
  } finally {
    stranger.kill('SIGKILL');
  }
});

test('two bm start at the same moment launch each member once', async () => {
  await team();
  const [a, b] = await Promise.all([sandbox.bm(['start']), sandbox.bm(['start'])]);
  assert.is(a.code, 0, a.stderr);
  assert.is(b.code, 0, b.stderr);
  const count = (out: string, what: RegExp) => Number(what.exec(out)?.[1] ?? NaN);
  assert.is(count(a.stdout, /Started (\d+)/) + count(b.stdout, /Started (\d+)/), 3);
  assert.is(count(a.stdout, /skipped (\d+)/) + count(b.stdout, /skipped (\d+)/), 3);
  const runs = runCalls();
  assert.equal(runs.map((c) => c.cwd).sort(), [workspace('dev-alice'), workspace('qe-quinn'), workspace('reviewer-rita')]);
  assert.is(Object.keys(readState().members).length, 3);
  await sandbox.ok(['stop']);
});

test('a corrupt topology or state file gives a warning, never a crash', async () => {
  await team(['dev:alice']);
  await sandbox.ok(['start']);
  writeFileSync(topologyFile(), '{"formation": "local", "members": {');
  const result = await sandbox.json<Status>(['status', '--json']);
  assert.is(result.members[0].status, 'running', 'the state-based view still sees the member');
  assert.match(result.warnings.join('\n'), /topology\.json is unreadable/);
  const pid = readState().members['alpha/dev-alice'].pid;
  await sandbox.ok(['stop']);
  assert.not.ok(existsSync(topologyFile()));
  // The stub's own "another loop is running" check counts a zombie as alive, and some inits reap
  // orphans late: let the stopped stub disappear before starting it again.
  await waitFor('the stopped stub to be reaped', () => !existsSync(`/proc/${pid}`), 10_000);

  writeFileSync(stateFile(), '{"members": {"alpha/dev-al');
  const torn = await sandbox.bm(['status', '--json']);
  assert.is(torn.code, 0, torn.stderr);
  assert.match(torn.stderr, /state\.json is not valid JSON/);
  assert.is((JSON.parse(torn.stdout) as Status).members[0].status, 'stopped');
  await sandbox.ok(['start']);
  assert.equal(Object.keys(readState().members), ['alpha/dev-alice'], 'the next write repairs the file');
  assert.ok(existsSync(`${stateFile()}.corrupt`), 'the torn file is kept for inspection');
  await sandbox.ok(['stop']);
});

test('bm logs prints and follows a member\'s log', async () => {
  await team(['dev:alice']);
  await sandbox.ok(['start']);
  const log = path.join(sandbox.bmHome, 'logs', 'alpha', 'dev-alice.log');
  assert.is(statSync(log).mode & 0o777, 0o600);
  const printed = await sandbox.ok(['logs', 'dev-alice']);
  assert.match(printed.stdout, /bm start: ralph run -P PROMPT\.md in .*dev-alice/);
  const missing = await sandbox.bm(['logs', 'qe-nobody']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /No log for 'qe-nobody'/);

  const follower = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), 'logs', 'dev-alice', '-f', '-n', '1'], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  follower.stdout.on('data', (chunk) => (seen += chunk));
  try {
    await waitFor('the last line', () => seen.includes('bm start: ralph run'), 10_000);
    appendFileSync(log, 'a line written later\n');
    await waitFor('the appended line', () => seen.includes('a line written later'), 5000);
  } finally {
    process.kill(follower.pid ?? 0, 'SIGTERM');
  }
  await sandbox.ok(['stop']);
});

test('bm fire stops a running member first', async () => {
  await team(['dev:alice', 'qe:quinn']);
  await sandbox.ok(['start']);
  const pid = readState().members['alpha/qe-quinn'].pid;
  const fired = await sandbox.ok(['fire', 'qe-quinn', '--yes']);
  assert.match(fired.stderr, /qe-quinn: stopped before firing/);
  assert.not.ok(alive(pid));
  assert.equal(Object.keys(readState().members), ['alpha/dev-alice']);
  assert.equal((await status()).members.map((m) => m.key), ['dev-alice']);
  await sandbox.ok(['stop']);
});

test('multi-project members run one ralph per project workspace', async () => {
  await team(['dev:alice'], ['widget', 'gizmo']);
  await sandbox.ok(['start']);
  const keys = Object.keys(readState().members).sort();
  assert.equal(keys, ['alpha/dev-alice/gizmo', 'alpha/dev-alice/widget']);
  assert.equal(runCalls().map((c) => c.cwd).sort(), [path.join(workspace('dev-alice'), 'gizmo'), path.join(workspace('dev-alice'), 'widget')]);
  const rows = (await status()).members;
  assert.equal(rows.map((m) => [m.key, m.name, m.status]), [['dev-alice/gizmo', 'dev-alice', 'running'], ['dev-alice/widget', 'dev-alice', 'running']]);
  assert.ok(existsSync(path.join(sandbox.bmHome, 'logs', 'alpha', 'dev-alice.widget.log')));
  const logs = await sandbox.ok(['logs', 'dev-alice']);
  assert.match(logs.stdout, /==> dev-alice\/gizmo <==[\s\S]*==> dev-alice\/widget <==/);
  const stopped = await sandbox.ok(['stop', 'dev-alice']);
  assert.match(stopped.stdout, /Stopped 2 member\(s\)/);
  assert.not.ok(existsSync(topologyFile()));
});

test('a non-local formation: schema gate first, then a clear error naming it', async () => {
  await team(['dev:alice']);
  const unknown = await sandbox.bm(['start', '--formation', 'nosuch']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /Formation 'nosuch' not found in team repo\. Available formations: k8s, local/);
  assert.equal(runCalls(), []);

  const manifest = path.join(teamDir(), 'team', 'botminter.yml');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/^schema_version: .*$/m, 'schema_version: v1'));
  const gated = await sandbox.bm(['start', '--formation', 'k8s']);
  assert.is(gated.code, 1);
  assert.match(gated.stderr, /This feature requires schema v2, but team 'alpha' uses schema v1/);
  assert.is(gated.stdout, '');
  assert.equal(runCalls(), [], 'nothing was started');
});

test.run();
