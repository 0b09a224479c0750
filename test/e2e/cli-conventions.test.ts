/**
 * Conventions every command follows: `bm help [CMD]`, `-t TEAM` before the command, errors as JSON
 * on stderr under --json, the version.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BM_COMMAND, createSandbox, ROOT, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
test.before(async () => {
  sandbox = createSandbox();
  for (const [team, member] of [['alpha', 'dev:alice'], ['beta', 'qe:quinn']]) {
    await sandbox.ok(['init', '--non-interactive', '--team-name', team, '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--hire', member]);
  }
});
test.after(() => sandbox.cleanup());

test('bm help shows the overview; bm help CMD [SUB] is that command\'s --help', async () => {
  const overview = await sandbox.ok(['help']);
  assert.is(overview.stdout, (await sandbox.ok(['--help'])).stdout);
  assert.match(overview.stdout, /\n {2}help +Show this overview/);
  assert.is((await sandbox.ok(['help', 'hire'])).stdout, (await sandbox.ok(['hire', '--help'])).stdout);
  assert.is((await sandbox.ok(['help', 'teams', 'sync'])).stdout, (await sandbox.ok(['teams', 'sync', '--help'])).stdout);
  const unknown = await sandbox.bm(['help', 'hier']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /^Error: Unknown command 'hier'\. Did you mean 'bm hire'\?/);
});

test('-t TEAM and --json may come before the command', async () => {
  const names = (list: { name: string }[]) => list.map((m) => m.name);
  assert.equal(names(await sandbox.json(['-t', 'beta', 'members', 'list', '--json'])), ['qe-quinn']);
  assert.equal(names(await sandbox.json(['--team=beta', '--json', 'members', 'list'])), ['qe-quinn']);
  assert.equal(names(await sandbox.json(['-t', 'alpha', 'members', 'list', '--json'])), ['dev-alice']);
  const status = await sandbox.ok(['-t', 'beta', 'status']);
  assert.match(status.stdout, /qe-quinn/);
});

test('under --json an error is one JSON object on stderr, with the same exit code', async () => {
  const missing = await sandbox.bm(['members', 'show', 'nobody', '--json']);
  assert.is(missing.code, 1);
  assert.is(missing.stdout, '');
  const { error } = JSON.parse(missing.stderr) as { error: { message: string; hint: string; exitCode: number } };
  assert.match(error.message, /nobody/);
  assert.is(error.exitCode, 1);
  const usage = await sandbox.bm(['members', 'list', '--json', '--bogus']);
  assert.is(usage.code, 2);
  assert.is(JSON.parse(usage.stderr).error.exitCode, 2);
  const unknown = await sandbox.bm(['--json', 'nope']);
  assert.is(unknown.code, 2);
  assert.match(JSON.parse(unknown.stderr).error.message, /Unknown command 'nope'/);
  const plain = await sandbox.bm(['members', 'show', 'nobody']);
  assert.match(plain.stderr, /^Error: /, 'without --json, the usual line');
});

test('a reader that stops reading early (`bm members list | head -0`) ends bm quietly, exit 0', async () => {
  for (const args of [['members', 'list'], ['members', 'list', '--json'], ['--help']]) {
    const child = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), ...args], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before bm writes a byte
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.is(code, 0, `bm ${args.join(' ')}: ${stderr}`);
    assert.is(stderr, '', `bm ${args.join(' ')} printed nothing on stderr`);
  }
});

test('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is((await sandbox.ok(['--version'])).stdout, `bm ${version}\n`);
});

test.run();
