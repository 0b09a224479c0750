/**
 * The sandbox's orphan check: a test that leaves a stub ralph running in its sandbox fails, and
 * the stray process is killed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ORPHAN_MARKER, STUB_BIN, createSandbox, processesUnder } from '../support/sandbox.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readStat(pid));
  } catch {
    return false;
  }
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

/** What `fn` wrote to stderr (held back from the real stderr: the test runner counts orphan reports there). */
function stderrOf(fn: () => void): string {
  let written = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return written;
}

test('cleanup kills a leftover stub ralph and reports it, without throwing', async () => {
  const sandbox = createSandbox();
  const workspace = path.join(sandbox.workzone, 'alpha', 'dev-alice');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(path.join(workspace, 'PROMPT.md'), 'work\n');
  const ralph = spawn(path.join(STUB_BIN, 'ralph'), ['run', '-P', 'PROMPT.md'], { cwd: workspace, env: { ...sandbox.env, STUB_RALPH_MODE: 'persistent' }, stdio: 'ignore', detached: true });
  ralph.unref();
  const pid = ralph.pid ?? 0;
  try {
    const deadline = Date.now() + 5000;
    // Until the stub's sh wrapper has exec'd node, its command substitutions show up too.
    while (processesUnder(sandbox.dir).map((p) => p.command).join().indexOf('ralph.mjs') < 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(processesUnder(sandbox.dir).map((p) => p.pid), [pid]);
    const report = stderrOf(() => sandbox.cleanup());
    assert.match(report, new RegExp(`^\\n${ORPHAN_MARKER} a test left 1 process\\(es\\) running in its sandbox .*\\n  ${pid} in .*ralph\\.mjs`));
    assert.not.ok(alive(pid), 'the stray was killed');
  } finally {
    // Never leak the stub, even when an assertion above failed.
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(sandbox.dir, { recursive: true, force: true });
  }
});

test('cleanup of a clean sandbox reports nothing', () => {
  const sandbox = createSandbox();
  assert.is(stderrOf(() => sandbox.cleanup()), '');
});

test.run();
