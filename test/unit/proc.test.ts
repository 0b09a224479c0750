/**
 * lib/proc.ts: process identity that survives pid reuse, detached launches in their own group,
 * and SIGTERM → SIGKILL escalation that also takes down what the leader left behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tailLines } from '../../lib/logs.ts';
import { isOurs, ownPids, procInfo, spawnDetached, terminate, timings, which } from '../../lib/proc.ts';
import { waitFor } from '../support/wait.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-proc-'));
const launched: number[] = [];
test.after(() => {
  for (const pid of launched) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Alive and not a zombie. */
function running(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && !info.zombie;
}


function detached(script: string, name: string) {
  const child = spawnDetached({ command: '/bin/sh', args: ['-c', script], cwd: dir, env: { PATH: process.env.PATH }, logFile: path.join(dir, 'logs', `${name}.log`), banner: `--- ${name}` });
  launched.push(child.pid);
  return child;
}

test('procInfo identifies this process; other tokens, empty tokens and missing pids do not match', () => {
  const me = procInfo(process.pid);
  assert.ok(me, 'this process is visible');
  assert.not.ok(me.zombie);
  assert.ok(isOurs(process.pid, me.started));
  assert.not.ok(isOurs(process.pid, `${me.started}x`), 'a different start time is a different process');
  assert.not.ok(isOurs(process.pid, ''), 'an unknown start time never matches');
  assert.is(procInfo(0), undefined);
  assert.is(procInfo(2 ** 30), undefined);
});

test('spawnDetached: own process group, output appended to a private log', async () => {
  const child = detached('echo hello from the child; sleep 30', 'hello');
  assert.match(child.started, /.+/, 'the start time is read at launch');
  assert.ok(isOurs(child.pid, child.started));
  assert.is(procInfo(child.pid)?.pgid, child.pid, 'the child leads its own group');
  const log = path.join(dir, 'logs', 'hello.log');
  await waitFor('the child to write', () => readFileSync(log, 'utf8').includes('hello from the child'));
  assert.is(readFileSync(log, 'utf8').split('\n')[0], '--- hello');
  assert.is(statSync(log).mode & 0o777, 0o600);
  assert.is(await terminate(child.pid, child.started, 2000), 'terminated');
  assert.not.ok(running(child.pid));
});

test('terminate escalates to SIGKILL when SIGTERM is ignored', async () => {
  const child = detached('trap "" TERM; echo ready; while :; do sleep 0.05; done', 'stubborn');
  await waitFor('the trap to be set', () => readFileSync(path.join(dir, 'logs', 'stubborn.log'), 'utf8').includes('ready'));
  const began = Date.now();
  assert.is(await terminate(child.pid, child.started, 300), 'killed');
  assert.ok(Date.now() - began >= 300, 'SIGKILL only after the grace period');
  assert.not.ok(running(child.pid));
});

test('terminate also kills group members the leader left behind', async () => {
  const pidFile = path.join(dir, 'grandchild.pid');
  // The grandchild ignores SIGTERM; the leader exits on it.
  const child = detached(`(trap "" TERM; exec sleep 300) & echo $! > ${pidFile}; trap "exit 0" TERM; wait`, 'family');
  await waitFor('the grandchild pid', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(running(grandchild));
  assert.is(await terminate(child.pid, child.started, 2000), 'terminated');
  await waitFor('the grandchild to die', () => !running(grandchild));
});

test('a pid whose start time differs is never signalled', async () => {
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = stranger.pid ?? 0;
    await waitFor('sleep to start', () => running(pid));
    assert.not.ok(isOurs(pid, '1@00000000'));
    assert.is(await terminate(pid, '1@00000000', 100), 'not-running');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(running(pid), 'the stranger survives');
  } finally {
    stranger.kill('SIGKILL');
  }
});

test('timings come from the environment with the documented defaults', () => {
  assert.equal(timings({}), { startCheckMs: 2000, stopGraceMs: 60_000, stopKillMs: 5000 });
  assert.equal(timings({ BM_START_CHECK_MS: '10', BM_STOP_GRACE_MS: '20', BM_STOP_KILL_MS: '30' }), { startCheckMs: 10, stopGraceMs: 20, stopKillMs: 30 });
  assert.is(timings({ BM_STOP_KILL_MS: 'soon' }).stopKillMs, 5000, 'garbage falls back to the default');
});

test('which looks on the given PATH only; tailLines returns the last lines', () => {
  const bin = path.join(dir, 'empty-bin');
  assert.is(which('sh', { PATH: '/bin:/usr/bin' })?.endsWith('/sh'), true);
  assert.is(which('ralph', { PATH: bin }), undefined);
  const file = path.join(dir, 'tail.txt');
  writeFileSync(file, 'one\ntwo\n\nthree\nfour\n');
  assert.equal(tailLines(file, 2), ['three', 'four']);
  assert.equal(tailLines(file, 0), []);
  assert.equal(tailLines(path.join(dir, 'nope'), 3), []);
});

// Run as an ordinary user (needs root to switch to `nobody`), the scan keeps that user's
// processes only: asking about the others fails, and each failure costs an exception.
const asNobody = process.getuid?.() === 0 && which('runuser', process.env) !== undefined;
test('ownPids: for an ordinary user, only that user\'s processes', () => {
  if (!asNobody) return console.log('  (skipped: needs root and runuser to run a scan as nobody)');
  assert.ok(ownPids().includes(1), 'root sees every process, init included');
  const script = `import { ownPids } from ${JSON.stringify(path.resolve('lib/proc.ts'))}; console.log(JSON.stringify(ownPids()));`;
  const evaluate = 'Deno' in globalThis ? ['eval', script] : ['--import', 'tsx', '--input-type=module', '-e', script];
  const output = execFileSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', 'sleep 30 & echo $!; "$@"; kill $!', 'sh', process.execPath, ...evaluate], {
    encoding: 'utf8', env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve('tsconfig.json') }, cwd: process.cwd(),
  });
  const [sleeper, list] = output.trim().split('\n');
  const pids = JSON.parse(list) as number[];
  assert.ok(pids.includes(Number(sleeper)), `the user's own process ${sleeper} is found in ${list}`);
  const foreign = pids.filter((pid) => existsSync(`/proc/${pid}`) && statSync(`/proc/${pid}`).uid !== 65534);
  assert.equal(foreign, [], 'no process of another user is listed');
});

test.run();
