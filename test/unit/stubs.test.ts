/**
 * Proves the stub `ralph` and `claude` executables (test/support/bin) behave like the real programs
 * at the process boundary: argv, exit codes, signals, `.ralph/` files and the JSON-lines record.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait.ts';
import { interrupt } from '../support/processes.ts';

const BIN = fileURLToPath(new URL('../support/bin/', import.meta.url));

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}
interface Running {
  child: ChildProcess;
  pid: number;
  done: Promise<Outcome>;
}
interface PromptFileCopy {
  path: string;
  text: string | null;
  sha256: string | null;
}
interface Call {
  bin: string;
  argv: string[];
  cwd: string;
  pid: number;
  ppid: number;
  ts: string;
  stdinIsTTY: boolean;
  env: Record<string, string>;
  promptFile?: string | null;
  promptText?: string | null;
  configPath?: string;
  mode?: string;
  prompt?: string | null;
  skillsVisible?: string[];
  appendSystemPromptFile?: PromptFileCopy;
}
interface StartOptions {
  cwd: string;
  env?: Record<string, string>;
  stdin?: 'ignore' | 'pipe';
}

const live = new Set<ChildProcess>();
const temps: string[] = [];

function tempDir(): string {
  // realpath: the stubs record process.cwd(), which is resolved (macOS /var -> /private/var).
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'bm-stubs-')));
  temps.push(dir);
  return dir;
}

/** A clean environment: nothing leaks in from the developer's shell (CLAUDECODE, tokens). */
function envFor(cwd: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: cwd,
    STUB_RALPH_DELAY_MS: '30',
    STUB_RALPH_TICK_MS: '10',
    ...extra,
  };
}

function start(bin: 'ralph' | 'claude', args: string[], opts: StartOptions): Running {
  const child = spawn(join(BIN, bin), args, {
    cwd: opts.cwd,
    env: envFor(opts.cwd, opts.env),
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  assert.type(child.pid, 'number');
  return { child, pid: child.pid ?? -1, done };
}

async function finished(r: Running, ms = 5000): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stub pid ${r.pid} did not exit within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([r.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runStub(bin: 'ralph' | 'claude', args: string[], opts: StartOptions & { input?: string }): Promise<Outcome> {
  const r = start(bin, args, { ...opts, stdin: opts.input === undefined ? opts.stdin : 'pipe' });
  if (opts.input !== undefined) r.child.stdin?.end(opts.input);
  return finished(r);
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function calls(file: string): Call[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
}

/** For polling: true once the stub with `pid` has recorded its call (handlers are installed by then). */
function hasRecorded(dir: string, pid: number): boolean {
  try {
    return calls(join(dir, '.stub-calls.jsonl')).some((c) => c.pid === pid);
  } catch {
    return false; // a line still being written
  }
}

const lastCall = (dir: string): Call => {
  const all = calls(join(dir, '.stub-calls.jsonl'));
  assert.ok(all.length > 0, 'expected a recorded call');
  return all[all.length - 1];
};

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

function eventsOf(dir: string): { topic: string; payload: unknown }[] {
  const file = join(dir, readFileSync(join(dir, '.ralph/current-events'), 'utf8').trim());
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { topic: string; payload: unknown });
}

/** Starts a long-lived ralph and waits until its loop lock names it: signal handlers are then in place. */
async function startLoop(dir: string, env: Record<string, string>, args = ['run', '-P', 'PROMPT.md']): Promise<Running> {
  const r = start('ralph', args, { cwd: dir, env });
  const lock = join(dir, '.ralph/loop.lock');
  const lockPid = () => {
    try {
      return readJson<{ pid: number }>(lock).pid;
    } catch {
      return undefined; // not written yet, or a previous run's lock
    }
  };
  await waitFor('loop.lock', () => lockPid() === r.pid);
  return r;
}

function workspace(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'PROMPT.md'), 'Scan the board.\n');
  return dir;
}

test.after.each(() => {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
});

test.after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

// --- ralph -------------------------------------------------------------------------------------

test('ralph: --version, and usage errors exit 2 like clap', async () => {
  const dir = tempDir();
  const version = await runStub('ralph', ['--version'], { cwd: dir });
  assert.is(version.code, 0);
  assert.match(version.stdout, /^ralph 2\.\d+\.\d+-stub\n$/);
  const cases: Promise<void>[] = [];
  for (const [args, message] of [
    [['run', '--bogus'], /unexpected argument '--bogus'/],
    [['run', '-p', 'x', '-P', 'PROMPT.md'], /cannot be used with/],
    [['run', '-P', 'a', '--prompt-file', 'b'], /cannot be used multiple times/],
    [['run', '--max-iterations', 'many'], /invalid value 'many'/],
    [['run', '-p'], /a value is required/],
    [['run', 'extra'], /unexpected argument 'extra'/],
    [['loops', 'stop', '--now'], /unexpected argument '--now'/],
    [['emit'], /required arguments/],
  ] as const) {
    cases.push(runStub('ralph', [...args], { cwd: dir }).then((out) => {
      assert.is(out.code, 2, `exit code for ${args.join(' ')}`);
      assert.match(out.stderr, message);
      assert.match(out.stderr, /Usage: ralph/);
    }));
  }
  await Promise.all(cases);
  const recorded = calls(join(dir, '.stub-calls.jsonl'));
  assert.is(recorded.length, 9, 'every invocation is recorded, usage errors included');
  assert.ok(recorded.some((c) => c.argv.join(' ') === 'run -p x -P PROMPT.md'));
  assert.not.ok(existsSync(join(dir, '.ralph')), 'usage errors start nothing');
});

test('ralph run (oneshot): .ralph files, compatibility files and the recorded call', async () => {
  const dir = workspace();
  const prompt = 'P'.repeat(150);
  writeFileSync(join(dir, 'PROMPT.md'), prompt);
  // The block scalar mentions `persistent: true`; only event_loop.persistent counts.
  writeFileSync(join(dir, 'ralph.yml'), [
    'event_loop:',
    '  persistent: false   # one-shot',
    '  prompt_file: PROMPT.md',
    'hats:',
    '  builder:',
    '    description: "Builds things"',
    '    instructions: |',
    '      persistent: true',
    '      RObot:',
    '        enabled: true',
    '',
  ].join('\n'));
  const env = { GH_TOKEN: 'ghp_test', GITHUB_TOKEN: 'gh2', BM_TEAM_NAME: 'alpha', RALPH_X: 'x', FOO: 'no' };
  const out = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env });
  assert.is(out.code, 0, out.stderr);

  const call = lastCall(dir);
  assert.is(call.bin, 'ralph');
  assert.equal(call.argv, ['run', '-P', 'PROMPT.md']);
  assert.is(call.cwd, dir);
  assert.is(call.ppid, process.pid);
  assert.ok(!Number.isNaN(Date.parse(call.ts)));
  assert.is(call.stdinIsTTY, false);
  assert.equal(call.env, { BM_TEAM_NAME: 'alpha', GH_TOKEN: 'ghp_test', GITHUB_TOKEN: 'gh2', HOME: dir, RALPH_X: 'x' });
  assert.not.ok('CLAUDECODE' in call.env);
  assert.is(call.promptFile, 'PROMPT.md');
  assert.is(call.promptText, null);
  assert.is(call.configPath, join(dir, 'ralph.yml'));
  assert.is(call.mode, 'oneshot');

  const lock = readJson<{ pid: number; started: string; prompt: string }>(join(dir, '.ralph/loop.lock'));
  assert.is(lock.pid, call.pid);
  assert.is(lock.prompt, prompt.slice(0, 100));
  assert.ok(!Number.isNaN(Date.parse(lock.started)));
  assert.match(readFileSync(join(dir, '.ralph/current-loop-id'), 'utf8'), /^primary-\d{8}-\d{6}$/);
  assert.match(readFileSync(join(dir, '.ralph/current-events'), 'utf8'), /^\.ralph\/events-\d{8}-\d{6}\.jsonl$/);
  const events = eventsOf(dir);
  assert.equal(events.map((e) => e.topic), ['task.start', 'LOOP_COMPLETE']);
  assert.is(events[0].payload, prompt);
  assert.match(readFileSync(join(dir, '.ralph/agent/summary.md'), 'utf8'), /Completed/);
  assert.is(readFileSync(join(dir, '.ralph-stub-env'), 'utf8'), 'GH_TOKEN=ghp_test\nRALPH_X=x\n');
  assert.not.ok(existsSync(join(dir, '.ralph-stub-pid')), 'a clean exit removes the compatibility pid file');
});

test('ralph run: -p text, STUB_RALPH_EXIT, BM_STUB_LOG and config path precedence', async () => {
  const dir = workspace();
  const inline = await runStub('ralph', ['run', '-p', 'PROMPT.md'], { cwd: dir });
  assert.is(inline.code, 0);
  assert.is(lastCall(dir).promptText, 'PROMPT.md');
  assert.is(lastCall(dir).promptFile, null);
  assert.is(eventsOf(dir)[0].payload, 'PROMPT.md', '-p is inline text, not a file');

  const maxIter = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_EXIT: '2' } });
  assert.is(maxIter.code, 2);

  const log = join(tempDir(), 'calls.jsonl');
  const before = calls(join(dir, '.stub-calls.jsonl')).length;
  const viaEnv = await runStub('ralph', ['run', '-P', 'PROMPT.md'], {
    cwd: dir, env: { BM_STUB_LOG: log, RALPH_CONFIG: 'conf/r.yml' },
  });
  assert.is(viaEnv.code, 0);
  assert.is(calls(join(dir, '.stub-calls.jsonl')).length, before, 'BM_STUB_LOG replaces the cwd log');
  assert.is(calls(log)[0].configPath, join(dir, 'conf/r.yml'));
  assert.match(viaEnv.stderr, /not found, using defaults/);

  await runStub('ralph', ['-c', 'core.scratchpad=x', 'run', '--config', 'other.yml', '-P', 'PROMPT.md'], {
    cwd: dir, env: { BM_STUB_LOG: log, RALPH_CONFIG: 'conf/r.yml' },
  });
  assert.is(calls(log)[1].configPath, join(dir, 'other.yml'), '-c wins over $RALPH_CONFIG; overrides are skipped');
});

test('ralph run: startup failures exit 1 before the loop starts', async () => {
  const dir = workspace();
  const missing = await runStub('ralph', ['run', '-P', 'NOPE.md'], { cwd: dir });
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /prompt file not found/);

  writeFileSync(join(dir, 'ralph.yml'), 'RObot:\n  enabled: true\n  timeout_seconds: 60\n');
  const robot = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir });
  assert.is(robot.code, 1);
  assert.match(robot.stderr, /RObot/);
  assert.not.ok(existsSync(join(dir, '.ralph/loop.lock')));
  const withToken = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { RALPH_TELEGRAM_BOT_TOKEN: 't' } });
  assert.is(withToken.code, 0);

  writeFileSync(join(dir, 'ralph.yml'), 'hats:\n  builder:\n    name: Builder\n    triggers: ["build.*"]\n');
  const hat = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir });
  assert.is(hat.code, 1);
  assert.match(hat.stderr, /hat 'builder' is missing a description/);

  rmSync(join(dir, 'ralph.yml'));
  writeFileSync(join(dir, '.ralph/loop.lock'), JSON.stringify({ pid: process.pid, started: '', prompt: '' }));
  const locked = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir });
  assert.is(locked.code, 1, 'a live lock holder blocks a second loop');
  assert.match(locked.stderr, /another loop is running/);

  rmSync(join(dir, '.ralph/loop.lock'));
  const failed = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_FAIL_RUN: '1' } });
  assert.is(failed.code, 1);
  assert.not.ok(existsSync(join(dir, '.ralph/loop.lock')));
});

test('ralph run: mode comes from marker file, then STUB_RALPH_MODE, then ralph.yml', async () => {
  const dir = workspace();
  writeFileSync(join(dir, 'ralph.yml'), 'event_loop:\n  persistent: true\n  max_iterations: 10000\n');
  const fromEnv = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_MODE: 'oneshot' } });
  assert.is(fromEnv.code, 0);
  assert.is(lastCall(dir).mode, 'oneshot');

  writeFileSync(join(dir, '.ralph-stub-mode'), 'crash\n');
  const fromMarker = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_MODE: 'oneshot' } });
  assert.is(fromMarker.code, 1);
  assert.is(lastCall(dir).mode, 'crash');

  rmSync(join(dir, '.ralph-stub-mode'));
  const loop = await startLoop(dir, {});
  assert.is(lastCall(dir).mode, 'persistent');
  await sleep(60);
  assert.is(loop.child.exitCode, null, 'a persistent loop keeps running');
  interrupt(loop.child, 'SIGTERM');
  assert.is((await finished(loop)).code, 130);

  const bogus = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_MODE: 'sideways' } });
  assert.is(bogus.code, 1);
  assert.match(bogus.stderr, /unknown mode 'sideways'/);
});

test('ralph persistent: `ralph loops stop` ends the loop with exit 1 after the current iteration', async () => {
  const dir = workspace();
  // The iteration in progress lasts 3 s after the request: long enough that the loop is surely
  // still running when `ralph loops stop` has returned, however loaded the machine.
  const loop = await startLoop(dir, { STUB_RALPH_MODE: 'persistent', STUB_RALPH_STOP_DELAY_MS: '3000' });
  assert.is(readFileSync(join(dir, '.ralph-stub-pid'), 'utf8').trim(), String(loop.pid));
  const stop = await runStub('ralph', ['loops', 'stop'], { cwd: dir });
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`Stop requested for loop '\\(primary\\)' \\(PID ${loop.pid}\\)`));
  assert.is(loop.child.exitCode, null, 'the iteration in progress (STUB_RALPH_STOP_DELAY_MS) finishes first');
  const out = await finished(loop);
  assert.is(out.code, 1);
  assert.not.ok(existsSync(join(dir, '.ralph/stop-requested')), 'the marker is consumed');
  assert.match(readFileSync(join(dir, '.ralph/agent/summary.md'), 'utf8'), /Stopped/);
  assert.ok(existsSync(join(dir, '.ralph/loop.lock')), 'the lock file stays after exit');
});

test('ralph persistent: SIGTERM, SIGINT and SIGHUP exit 130; STUB_RALPH_SIGTERM_EXIT overrides', async () => {
  await Promise.all((['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map(async (signal) => {
    const dir = workspace();
    const loop = await startLoop(dir, { STUB_RALPH_MODE: 'persistent' });
    interrupt(loop.child, signal);
    const out = await finished(loop);
    assert.is(out.code, 130, signal);
    assert.is(out.signal, null);
    assert.match(readFileSync(join(dir, '.ralph/agent/summary.md'), 'utf8'), /Interrupted/);
  }));
  const dir = workspace();
  const old = await startLoop(dir, { STUB_RALPH_MODE: 'persistent', STUB_RALPH_SIGTERM_EXIT: '0' });
  interrupt(old.child, 'SIGTERM');
  assert.is((await finished(old)).code, 0);
});

test('ralph ignore-sigterm: SIGTERM is logged and ignored; `loops stop --force` SIGKILLs', async () => {
  const dir = workspace();
  const loop = await startLoop(dir, { STUB_RALPH_MODE: 'ignore-sigterm' });
  interrupt(loop.child, 'SIGTERM');
  const log = join(dir, '.ralph-stub-sigterm.log');
  await waitFor('sigterm log line', () => existsSync(log) && /SIGTERM ignored\n/.test(readFileSync(log, 'utf8')));
  await sleep(50);
  assert.is(loop.child.exitCode, null, 'still running after SIGTERM');
  const force = await runStub('ralph', ['loops', 'stop', '--force'], { cwd: dir });
  assert.is(force.code, 0, force.stderr);
  const out = await finished(loop);
  assert.is(out.signal, 'SIGKILL');
});

test('ralph crash: exits without cleanup; `loops stop` then reports the dead loop', async () => {
  const dir = workspace();
  const noLock = await runStub('ralph', ['loops', 'stop'], { cwd: dir });
  assert.is(noLock.code, 1);
  assert.match(noLock.stderr, /Cannot determine active loop/);

  const out = await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir, env: { STUB_RALPH_MODE: 'crash', STUB_RALPH_EXIT: '3' } });
  assert.is(out.code, 3);
  assert.ok(existsSync(join(dir, '.ralph/loop.lock')));
  assert.ok(existsSync(join(dir, '.ralph-stub-pid')), 'a crash leaves the pid file behind');
  assert.not.ok(existsSync(join(dir, '.ralph/agent/summary.md')));
  const stop = await runStub('ralph', ['loops', 'stop'], { cwd: dir });
  assert.is(stop.code, 1);
  assert.match(stop.stderr, /not running/);
});

test('ralph hats: runs each hat\'s command in event order and publishes what its instructions say; a broken hat fails the run', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'hats'));
  writeFileSync(join(dir, 'hats', 'second.md'), 'Triggered by `b.go`.\n\n1. Run `echo second >> ran.txt`.\n2. Exit code 0: finish with `LOOP_COMPLETE`. Otherwise finish with `LOOP_COMPLETE`.\n');
  const yml = (publishes: string) => [
    'event_loop:', '  starting_event: a.go', '  completion_promise: LOOP_COMPLETE', '  max_iterations: 5', 'hats:',
    '  first:', '    name: First', '    description: runs first', '    triggers: [a.go]', `    publishes: [${publishes}]`,
    '    instructions: |', '      Run `echo first >> ran.txt`.', '      Exit code 0: emit `b.go`. Otherwise: finish with `LOOP_COMPLETE`.',
    '  second:', '    name: Second', '    description: runs second', '    triggers: [b.go]', '    publishes: [LOOP_COMPLETE]',
    '    instructions: |', '      Follow hats/second.md.', '',
  ].join('\n');
  writeFileSync(join(dir, 'ralph.yml'), yml('b.go'));
  writeFileSync(join(dir, 'PROMPT.md'), 'Run `echo first >> ran.txt`, which emits b.go, then `echo second >> ran.txt`.\n');
  const env = { STUB_RALPH_MODE: 'hats' };
  const ok = await runStub('ralph', ['run', '-c', 'ralph.yml', '-P', 'PROMPT.md'], { cwd: dir, env });
  assert.is(ok.code, 0, ok.stderr);
  assert.is(readFileSync(join(dir, 'ran.txt'), 'utf8'), 'first\nsecond\n');
  const events = readFileSync(join(dir, readFileSync(join(dir, '.ralph', 'current-events'), 'utf8').trim()), 'utf8');
  assert.equal(events.trim().split('\n').map((l) => (JSON.parse(l) as { topic: string }).topic), ['task.start', 'b.go', 'LOOP_COMPLETE']);

  writeFileSync(join(dir, 'ralph.yml'), yml('c.go'));
  const undeclared = await runStub('ralph', ['run', '-c', 'ralph.yml', '-P', 'PROMPT.md'], { cwd: dir, env });
  assert.is(undeclared.code, 1);
  assert.match(undeclared.stderr, /hat first published 'b\.go', which is not in its publishes \(c\.go\)/);

  writeFileSync(join(dir, 'ralph.yml'), yml('b.go').replace('triggers: [b.go]', 'triggers: [b.gone]'));
  const orphan = await runStub('ralph', ['run', '-c', 'ralph.yml', '-P', 'PROMPT.md'], { cwd: dir, env });
  assert.is(orphan.code, 1);
  assert.match(orphan.stderr, /event 'b\.go' triggers no hat/);

  writeFileSync(join(dir, 'ralph.yml'), yml('b.go'));
  writeFileSync(join(dir, 'PROMPT.md'), 'Run `echo first >> ran.txt`, which emits b.go.\n');
  const vague = await runStub('ralph', ['run', '-c', 'ralph.yml', '-P', 'PROMPT.md'], { cwd: dir, env });
  assert.is(vague.code, 1);
  assert.match(vague.stderr, /the prompt never mentions `echo second >> ran\.txt` \(hat second\)/);
});

test('ralph read-only subcommands answer one line; STUB_RALPH_FAIL_<SUB> makes them exit 1', async () => {
  const dir = tempDir();
  await Promise.all([['loops', 'list'], ['loops', 'list', '--json'], ['hats'], ['events', '--last', '5'], ['bot', 'status']].map(
    async (args) => {
      const out = await runStub('ralph', args, { cwd: dir });
      assert.is(out.code, 0, args.join(' '));
      assert.is(out.stdout.trim().split('\n').length, 1, args.join(' '));
    },
  ));
  assert.is(JSON.parse((await runStub('ralph', ['loops', 'list', '--json'], { cwd: dir })).stdout).length, 1);
  assert.is((await runStub('ralph', ['hats'], { cwd: dir, env: { STUB_RALPH_FAIL_HATS: '1' } })).code, 1);
  const bot = { STUB_RALPH_FAIL_BOT_STATUS: '1' };
  assert.is((await runStub('ralph', ['bot', 'status'], { cwd: dir, env: bot })).code, 1);
  assert.is((await runStub('ralph', ['loops', 'list'], { cwd: dir, env: bot })).code, 0);
  assert.is((await runStub('ralph', ['loops', 'list'], { cwd: dir, env: { STUB_RALPH_FAIL_LOOPS_LIST: '1' } })).code, 1);
  const other = await runStub('ralph', ['doctor', '--anything'], { cwd: dir });
  assert.is(other.code, 0);
  assert.equal(lastCall(dir).argv, ['doctor', '--anything']);
});

test('ralph emit appends to the current events file', async () => {
  const dir = workspace();
  const bare = await runStub('ralph', ['emit', 'board.scanned', 'nothing new'], { cwd: dir });
  assert.is(bare.code, 0);
  assert.is(bare.stdout, 'Event emitted: board.scanned\n');
  const fallback = readJson<{ topic: string; payload: string }>(join(dir, '.ralph/events.jsonl'));
  assert.equal([fallback.topic, fallback.payload], ['board.scanned', 'nothing new']);

  await runStub('ralph', ['run', '-P', 'PROMPT.md'], { cwd: dir });
  const out = await runStub('ralph', ['emit', 'build.done', '{"ok":true}', '--json'], { cwd: dir });
  assert.is(out.code, 0);
  const last = eventsOf(dir).pop();
  assert.equal(last, { ...last, topic: 'build.done', payload: { ok: true } });
  assert.is((await runStub('ralph', ['emit', 'x', '{bad', '--json'], { cwd: dir })).code, 1);
});

// --- claude ------------------------------------------------------------------------------------

test('claude print mode: text, json and stream-json output', async () => {
  const dir = tempDir();
  const text = await runStub('claude', ['-p', 'hello'], { cwd: dir });
  assert.is(text.code, 0, text.stderr);
  assert.is(text.stdout, 'stub response\n');
  const call = lastCall(dir);
  assert.equal([call.bin, call.mode, call.prompt], ['claude', 'print', 'hello']);

  const json = await runStub('claude', ['--print', '--output-format', 'json', 'hi'], {
    cwd: dir, env: { STUB_CLAUDE_RESPONSE: 'done', STUB_CLAUDE_EXIT: '3' },
  });
  assert.is(json.code, 3);
  const result = JSON.parse(json.stdout) as { type: string; result: string; session_id: string; is_error: boolean };
  assert.equal([result.type, result.result, result.is_error], ['result', 'done', true]);
  assert.match(result.session_id, /^[0-9a-f-]{36}$/);

  const noVerbose = await runStub('claude', ['-p', '--output-format=stream-json', 'hi'], { cwd: dir });
  assert.is(noVerbose.code, 1);
  assert.match(noVerbose.stderr, /requires --verbose/);
  const stream = await runStub('claude', ['-p', '--verbose', '--output-format', 'stream-json', 'hi'], { cwd: dir });
  assert.is(stream.code, 0);
  const types = stream.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
  assert.equal(types, ['system', 'assistant', 'result']);
});

test('claude print mode takes the prompt from stdin; no prompt at all is an error', async () => {
  const dir = tempDir();
  const piped = await runStub('claude', ['-p'], { cwd: dir, input: 'from stdin\n' });
  assert.is(piped.code, 0, piped.stderr);
  assert.is(lastCall(dir).prompt, 'from stdin\n');
  const none = await runStub('claude', ['-p'], { cwd: dir });
  assert.is(none.code, 1);
  assert.match(none.stderr, /Input must be provided/);
});

test('claude refuses to nest when CLAUDECODE is set, unless STUB_CLAUDE_ALLOW_NESTED=1', async () => {
  const dir = tempDir();
  const nested = await runStub('claude', ['-p', 'x'], { cwd: dir, env: { CLAUDECODE: '1' } });
  assert.is(nested.code, 1);
  assert.match(nested.stderr, /unset the CLAUDECODE environment variable/);
  assert.is(lastCall(dir).env.CLAUDECODE, '1');
  const allowed = await runStub('claude', ['-p', 'x'], { cwd: dir, env: { CLAUDECODE: '1', STUB_CLAUDE_ALLOW_NESTED: '1' } });
  assert.is(allowed.code, 0);
  await runStub('claude', ['-p', 'x'], { cwd: dir });
  assert.not.ok('CLAUDECODE' in lastCall(dir).env);
});

test('claude records prompt-file contents and the skills it can see', async () => {
  const dir = tempDir();
  const skill = (root: string, folder: string, body: string) => {
    mkdirSync(join(root, '.claude/skills', folder), { recursive: true });
    writeFileSync(join(root, '.claude/skills', folder, 'SKILL.md'), body);
  };
  skill(dir, 'alpha', '---\nname: alpha-skill\ndescription: A\n---\nBody\n');
  skill(dir, 'plain', '---\ndescription: no name\n---\n');
  skill(dir, 'broken', '---\nname: never\n');
  const teamRepo = tempDir();
  skill(teamRepo, 'km', '---\nname: "knowledge-manager"\n---\n');
  const promptFile = join(tempDir(), 'bm-session-1.md');
  const text = '# Knowledge manager\nbe helpful\n';
  writeFileSync(promptFile, text);

  const out = await runStub('claude', [
    '--append-system-prompt-file', promptFile, '--add-dir', teamRepo, '--disallowedTools=TodoWrite', 'Hello there',
  ], { cwd: dir });
  assert.is(out.code, 0, out.stderr);
  rmSync(promptFile);
  const call = lastCall(dir);
  assert.is(call.mode, 'interactive');
  assert.is(call.prompt, 'Hello there');
  assert.equal(call.appendSystemPromptFile, {
    path: promptFile, text, sha256: createHash('sha256').update(text).digest('hex'),
  });
  assert.equal(call.skillsVisible, ['alpha-skill', 'plain', 'knowledge-manager']);

  // Without `=`, a variadic flag swallows the following words, as in the real CLI.
  await runStub('claude', ['--allowedTools', 'Read', 'Hello'], { cwd: dir });
  assert.is(lastCall(dir).prompt, null);
});

test('claude usage errors exit 1 with commander-style messages', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.md'), 'x');
  const cases: Promise<void>[] = [];
  for (const [args, message] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['-p', '--output-format', 'yaml', 'x'], /Allowed choices are text, json, stream-json/],
    [['--model'], /argument missing/],
    [['--append-system-prompt-file', join(dir, 'gone.md')], /file not found/],
    [['-p', '--system-prompt', 'a', '--system-prompt-file', join(dir, 'x.md'), 'q'], /Cannot use both/],
  ] as const) {
    cases.push(runStub('claude', [...args], { cwd: dir }).then((out) => {
      assert.is(out.code, 1, args.join(' '));
      assert.match(out.stderr, message);
    }));
  }
  await Promise.all(cases);
  assert.is(calls(join(dir, '.stub-calls.jsonl')).length, 5);
});

test('claude interactive: ends at stdin EOF or STUB_CLAUDE_SESSION_MS, runs STUB_CLAUDE_RUN, exits STUB_CLAUDE_EXIT', async () => {
  const dir = tempDir();
  const env = { STUB_CLAUDE_SESSION_MS: '10000', STUB_CLAUDE_EXIT: '4', STUB_CLAUDE_RUN: 'echo learned > knowledge.md' };
  const session = start('claude', ['--append-system-prompt', 'be brief'], { cwd: dir, env, stdin: 'pipe' });
  await waitFor('record', () => hasRecorded(dir, session.pid));
  await sleep(50);
  assert.is(session.child.exitCode, null, 'the session waits for stdin EOF');
  session.child.stdin?.end();
  assert.is((await finished(session)).code, 4);
  assert.is(readFileSync(join(dir, 'knowledge.md'), 'utf8'), 'learned\n');

  const timed = start('claude', [], { cwd: dir, env: { STUB_CLAUDE_SESSION_MS: '50' }, stdin: 'pipe' });
  assert.is((await finished(timed, 3000)).code, 0, 'the session timer ends it although stdin stays open');
  assert.is((await runStub('claude', [], { cwd: dir })).code, 0, 'default: no session wait');
});

test('claude signals: SIGTERM exits 143, SIGINT 130', async () => {
  await Promise.all(([['SIGTERM', 143], ['SIGINT', 130]] as const).map(async ([signal, code]) => {
    const dir = tempDir();
    const session = start('claude', [], { cwd: dir, env: { STUB_CLAUDE_SESSION_MS: '10000' }, stdin: 'pipe' });
    await waitFor('record', () => hasRecorded(dir, session.pid));
    interrupt(session.child, signal);
    const out = await finished(session);
    assert.is(out.code, code, signal);
  }));
});

test.run();
