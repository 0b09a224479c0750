/**
 * Watching members live, driven like a user: `bm start` on a team set to tmux (`bm teams tmux
 * on`, or `bm start --tmux`) runs each member in a window of
 * the team's own tmux server (socket under BM_HOME), tracked like any member; `bm attach` joins
 * the member's window from a terminal (driven under `script`) until the operator detaches;
 * a member not in tmux is followed through its log; `bm stop` leaves no tmux behind.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alive, waitFor } from '../support/daemon.ts';
import { interrupt } from '../support/processes.ts';
import { BM_COMMAND, createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'delta';
const FAST = { BM_STOP_GRACE_MS: '2000', BM_STOP_KILL_MS: '1000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_MODE: 'persistent' };

let sandbox: Sandbox;
let socket: string;

interface Entry { pid: number; member: string; tmux?: { socket: string; window: string } }
const entries = (): Record<string, Entry> => (JSON.parse(readFileSync(path.join(sandbox.bmHome, 'state.json'), 'utf8')) as { members: Record<string, Entry> }).members;
/** Runs tmux on the team's server; null when it fails (no server). */
const tmux = (...args: string[]): string | null => {
  const result = spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', env: { ...sandbox.env, TMUX: '' } });
  return result.status === 0 ? result.stdout : null;
};
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const logOf = (member: string) => path.join(sandbox.bmHome, 'logs', TEAM, `${member}.log`);

test.before(async () => {
  sandbox = createSandbox(FAST);
  socket = path.join(sandbox.bmHome, 'tmux', `${TEAM}.sock`);
  await sandbox.ok(['init', '--non-interactive', '--team-name', TEAM, '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--hire', 'dev:alice', '--hire', 'qe:quinn']);
  await sandbox.ok(['teams', 'sync']);
});

test.after(async () => {
  await sandbox.bm(['stop', '-f']);
  sandbox.cleanup();
});

test('start (set to tmux) runs each member in a window of the team\'s tmux session, tracked and logged like any member', async () => {
  assert.equal(await sandbox.json(['teams', 'tmux', 'on', '--json']), { team: TEAM, tmux: true, tmuxInstalled: true });
  const started = await sandbox.ok(['start']);
  assert.match(started.stdout, /Started 2 member\(s\)/);
  assert.match(started.stderr, /bm attach MEMBER/);
  const recorded = entries();
  const windows = (tmux('list-windows', '-t', `=${TEAM}`, '-F', '#{window_id} #{window_name} #{pane_pid}') ?? '').trim().split('\n').sort();
  assert.equal(windows, ['dev-alice', 'qe-quinn'].map((m) => {
    const entry = recorded[`${TEAM}/${m}`];
    assert.is(entry.tmux?.socket, socket);
    return `${entry.tmux?.window} ${m} ${entry.pid}`;
  }).sort());
  const status = await sandbox.json<{ members: { name: string; status: string }[] }>(['status', '--json']);
  assert.equal(status.members.map((m) => `${m.name}:${m.status}`), ['dev-alice:running', 'qe-quinn:running']);

  // What each pane shows reaches its own log: here the terminal's echo of what the operator types.
  for (const member of ['dev-alice', 'qe-quinn']) {
    assert.ok(tmux('send-keys', '-t', recorded[`${TEAM}/${member}`].tmux?.window ?? '', `hello ${member}`) !== null);
    await waitFor(`the echo in ${member}'s log`, () => readFileSync(logOf(member), 'utf8').includes(`hello ${member}`), 10_000);
  }
  assert.match(readFileSync(logOf('dev-alice'), 'utf8'), /bm start: ralph run -P PROMPT\.md in .* \(tmux\)/);
  // The marker reaches the member, the secrets-free command line of tmux holds no environment.
  const env = readFileSync(`/proc/${recorded[`${TEAM}/dev-alice`].pid}/environ`, 'latin1').split('\0');
  assert.ok(env.includes(`BM_MEMBER=${TEAM}/dev-alice`), 'the member marker is set in its window');
});

test('attach joins the member\'s window from a terminal until the operator detaches', async () => {
  const command = [...BM_COMMAND, 'attach', 'qe-quinn'].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: sandbox.dir, env: { ...sandbox.env, TERM: 'xterm-256color' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor('a tmux client on qe-quinn\'s window', () => (tmux('list-clients', '-F', '#{client_session} #{window_name}') ?? '').includes(`${TEAM} qe-quinn`), 20_000);
  assert.ok(tmux('detach-client', '-s', `=${TEAM}`) !== null);
  const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
  assert.is(code, 0, output);
  assert.match(output, /Attaching to qe-quinn/);
  assert.ok(alive(entries()[`${TEAM}/qe-quinn`].pid), 'the member keeps running after a detach');

  const piped = await sandbox.bm(['attach', 'qe-quinn']);
  assert.is(piped.code, 1);
  assert.match(piped.stderr, /Error: Attaching to qe-quinn needs a terminal\. .*bm logs qe-quinn -f/);
  const bad = await sandbox.bm(['attach', '../x']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /Error: .*member/i);
});

test('a member not in tmux is followed through its log', async () => {
  await sandbox.ok(['stop', 'qe-quinn']);
  assert.ok(tmux('has-session', '-t', `=${TEAM}`) !== null, 'dev-alice still runs in tmux');
  await sandbox.ok(['start', '--no-tmux', 'qe-quinn']);
  assert.is(entries()[`${TEAM}/qe-quinn`].tmux, undefined);
  const child = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), 'attach', 'qe-quinn'], { cwd: sandbox.dir, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor('the log so far', () => /bm start: ralph run/.test(stdout), 15_000);
  execFileSync('sh', ['-c', 'printf "a new line\\n" >> "$0"', logOf('qe-quinn')]);
  await waitFor('the appended line', () => stdout.includes('a new line'), 10_000);
  interrupt(child);
  assert.is(await exited, 0, stderr);
  assert.match(stderr, /qe-quinn does not run in tmux/);
});

test('stop ends the members and the team\'s tmux server; status and sync still work', async () => {
  const server = Number((tmux('display-message', '-p', '#{pid}') ?? '').trim());
  assert.ok(server > 0);
  await sandbox.ok(['stop']);
  assert.not.ok(alive(server), 'the tmux server is gone');
  assert.is(tmux('has-session'), null);
  assert.equal(Object.keys(entries()), []);
  const status = await sandbox.json<{ members: { status: string }[] }>(['status', '--json']);
  assert.ok(status.members.every((m) => m.status === 'stopped'));
  await sandbox.ok(['teams', 'sync']);
  assert.match((await sandbox.ok(['teams', 'tmux', 'off'])).stdout, /runs members detached/);
  assert.is((await sandbox.bm(['teams', 'tmux', 'maybe'])).code, 2);
  assert.ok(existsSync(path.join(sandbox.workzone, TEAM, 'dev-alice')));
});

test.run();
