/**
 * Shell completions come from the command declarations plus live names; the same scripts run
 * under Deno as under Node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { denoBinary } from '../../tasks/deno.ts';
import { createSandbox, ROOT, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
test.before(async () => {
  sandbox = createSandbox();
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--hire', 'dev:alice', '--hire', 'qe:quinn']);
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'beta', '--profile', 'scrum-compact', '--workzone', sandbox.workzone, '--no-github', '--hire', 'superman:clark']);
});
test.after(() => sandbox.cleanup());

async function complete(...words: string[]): Promise<string[]> {
  const result = await sandbox.ok(['completions', '--complete', '--', ...words]);
  return result.stdout.split('\n').filter(Boolean);
}

test('commands, subcommands and flags complete from the declarations', async () => {
  assert.ok((await complete('')).includes('hire'));
  assert.equal(await complete('pro'), ['profiles', 'projects']);
  assert.equal(await complete('teams', ''), ['list', 'show', 'use', 'sync', 'gates', 'notify', 'remove']);
  assert.ok((await complete('init', '--')).includes('--team-name'));
  assert.equal(await complete('members', 'list', '--j'), ['--json']);
});

test('live team, member, role and profile names', async () => {
  assert.equal(await complete('hire', ''), ['architect', 'dev', 'po', 'qe', 'reviewer']);
  assert.equal(await complete('fire', ''), ['dev-alice', 'qe-quinn']);
  assert.equal(await complete('fire', '-t', 'beta', ''), ['superman-clark']);
  assert.equal(await complete('members', 'list', '-t', ''), ['alpha', 'beta']);
  assert.equal(await complete('init', '--profile', 'scrum-'), ['scrum-compact']);
  assert.equal(await complete('completions', ''), ['bash', 'zsh', 'fish']);
});

test('each shell gets a script that calls back into bm; unknown shells are usage errors', async () => {
  for (const [shell, marker] of [['bash', 'complete -o default -F _bm_complete bm'], ['zsh', 'compdef _bm bm'], ['fish', 'complete -c bm']]) {
    const result = await sandbox.ok(['completions', shell]);
    assert.ok(result.stdout.includes(marker), `${shell} script registers itself`);
    assert.ok(result.stdout.includes('bm completions --complete'), `${shell} script calls back into bm`);
  }
  const bash = spawnSync('bash', ['-n'], { input: (await sandbox.ok(['completions', 'bash'])).stdout });
  assert.is(bash.status, 0, 'the bash script parses');
  const bad = await sandbox.bm(['completions', 'powershell']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /Unknown shell 'powershell'/);
});

test('Deno runs the same scripts: list, hire and JSON identical to Node', async () => {
  const deno = denoBinary(ROOT);
  const run = (...args: string[]) => spawnSync(deno, ['run', '-A', '--no-prompt', path.join(ROOT, 'scripts', 'bm.mjs'), ...args], { env: sandbox.env, encoding: 'utf8' });
  const hired = run('hire', 'reviewer', '--name', 'rita');
  assert.is(hired.status, 0, hired.stderr);
  const denoList = run('members', 'list', '--json');
  assert.is(denoList.status, 0, denoList.stderr);
  const nodeList = await sandbox.ok(['members', 'list', '--json']);
  assert.equal(JSON.parse(denoList.stdout), JSON.parse(nodeList.stdout));
  assert.ok(JSON.parse(denoList.stdout).some((m: { name: string }) => m.name === 'reviewer-rita'));
  const usage = run('hier');
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /Did you mean 'bm hire'/);
  const badFlag = run('members', 'list', '--jsn');
  assert.is(badFlag.status, 2, 'the exit code set through the process shim reaches the OS');
  assert.match(badFlag.stderr, /Did you mean '--json'/);
});

test('under Deno, read-only commands never load Deno\'s Node layer; others load what they use', async () => {
  const deno = denoBinary(ROOT);
  const run = (...args: string[]) => spawnSync(deno, ['run', '-A', '--no-prompt', path.join(ROOT, 'scripts', 'bm.mjs'), ...args], { env: { ...sandbox.env, BM_DEBUG: '1' }, encoding: 'utf8' });
  for (const args of [['members', 'list'], ['members', 'list', '-t', 'beta', '--json'], ['roles', 'list'], ['--help']]) {
    const result = run(...args);
    assert.is(result.status, 0, result.stderr);
    assert.not.match(result.stderr, /loading Deno's node:/, `bm ${args.join(' ')}`);
    if (args[0] !== '--help') assert.match(result.stderr, /running \w+ from \/.*\/d-[^/]+\/\w+\.mjs\n/, 'the Deno build of the compile cache is used');
  }
  const nodeList = await sandbox.ok(['members', 'list', '-t', 'beta']);
  assert.is(run('members', 'list', '-t', 'beta').stdout, nodeList.stdout, 'same table as under Node');
  const fired = run('fire', 'qe-quinn', '--yes');
  assert.is(fired.status, 0, fired.stderr);
  assert.match(fired.stderr, /loading Deno's node:/, 'a command that runs git loads the Node layer, and says so under BM_DEBUG');
  assert.not.ok((await sandbox.ok(['members', 'list', '--json'])).stdout.includes('qe-quinn'));
});

const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

test('under Node, commands run from the CommonJS build with V8\'s code cache, which a damaged copy cannot break', () => {
  if (underDeno) return;
  const run = () => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bm.mjs'), 'roles', 'list', '-t', 'beta'], { env: { ...sandbox.env, BM_DEBUG: '1' }, encoding: 'utf8' });
  const first = run();
  assert.is(first.status, 0, first.stderr);
  const file = /running roles from (\/.*\/b-[^/]+\/roles\.cjs)\n/.exec(first.stderr)?.[1];
  assert.ok(file, `the Node build of the compile cache is used: ${first.stderr}`);
  const codeCache = `${file}.v8`;
  assert.ok(existsSync(codeCache), 'the code cache is written after a run');
  // Replaced the way bm writes it (a rename), so a concurrent run never reads half a file.
  writeFileSync(`${codeCache}.damaged`, 'not a V8 code cache');
  renameSync(`${codeCache}.damaged`, codeCache);
  const second = run();
  assert.is(second.status, 0, second.stderr);
  assert.is(second.stdout, first.stdout, 'same output from a rejected cache');
  assert.is.not(readFileSync(codeCache, 'utf8').slice(0, 19), 'not a V8 code cache', 'a rejected cache is written again');
});

test.run();
