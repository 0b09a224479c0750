/**
 * Shell completions come from the command declarations plus live names; the same scripts run
 * under Deno as under Node.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { options } from '../../tasks/build.mjs';
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
  assert.equal(await complete('teams', ''), ['list', 'show', 'use', 'sync', 'gates', 'notify', 'tmux', 'remove']);
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

const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

test('Deno runs the same scripts: list, hire and JSON identical to Node', async () => {
  const deno = denoBinary(ROOT);
  const launch = (launcher: string, ...args: string[]) => spawnSync(deno, ['run', '-A', '--no-prompt', path.join(ROOT, 'scripts', launcher), ...args], { env: sandbox.env, encoding: 'utf8' });
  const run = (...args: string[]) => launch('bm.mjs', ...args);
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
  assert.is(badFlag.status, 2, 'the exit code reaches the OS');
  assert.match(badFlag.stderr, /Did you mean '--json'/);
  // What bm.mjs leaves to bm.cjs: global flags first, and help.
  const globalFirst = run('-t', 'alpha', '--json', 'members', 'list');
  assert.is(globalFirst.status, 0, globalFirst.stderr);
  assert.equal(JSON.parse(globalFirst.stdout), JSON.parse((await sandbox.ok(['-t', 'alpha', '--json', 'members', 'list'])).stdout));
  assert.match(run('help', 'members').stdout, /bm members list/);
  const viaCjs = launch('bm.cjs', 'members', 'list', '--json');
  assert.is(viaCjs.status, 0, viaCjs.stderr);
  assert.equal(JSON.parse(viaCjs.stdout), JSON.parse(nodeList.stdout));
});

test('every scripts/*.ts is a command the launchers list (bm.mjs runs any of them by name)', async () => {
  const { COMMANDS } = await import('../../scripts/bm.cjs');
  const scripts = readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  assert.equal(scripts, COMMANDS.map(([name]) => name).sort());
});

test('under Node, commands run from dist/ with Node\'s compile cache under XDG_CACHE_HOME', () => {
  if (underDeno) return;
  const env: NodeJS.ProcessEnv = { ...sandbox.env };
  delete env.NODE_COMPILE_CACHE;
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bm.cjs'), 'roles', 'list', '-t', 'beta'], { env, encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  const cache = path.join(sandbox.home, '.cache', 'bm', 'node-compile-cache');
  assert.ok(existsSync(cache) && readdirSync(cache).length > 0, `the compile cache is in ${cache}`);
});

test('a watch build (`npm run build -- --watch`) runs commands and keeps no schema verdicts', async () => {
  if (underDeno) return;
  const root = mkdtempSync(path.join(os.tmpdir(), 'bm-watch-build-'));
  try {
    for (const file of ['scripts/bm.cjs', 'lib/suggest.mjs']) cpSync(path.join(ROOT, file), path.join(root, file));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    const esbuild = await import('esbuild');
    await esbuild.build({ ...options({ watch: true }), outdir: path.join(root, 'dist', 'commands'), logLevel: 'silent' });
    const cache = path.join(root, 'cache');
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'bm.cjs'), 'members', 'list', '-t', 'beta'], { env: { ...sandbox.env, XDG_CACHE_HOME: cache }, encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
    assert.match(result.stdout, /superman-clark/);
    const parsed = path.join(cache, 'bm', 'parsed');
    const entries = existsSync(parsed) ? readdirSync(parsed) : [];
    assert.ok(entries.length > 0, 'team files went through the parse cache');
    for (const entry of entries) {
      assert.not.match(entry, /verdict/, `${entry}: a watch build keeps no verdicts`);
      assert.not.ok('checked' in JSON.parse(readFileSync(path.join(parsed, entry), 'utf8')), `${entry}: a watch build keeps no verdicts`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a checkout that was never built says how to build it', () => {
  if (underDeno) return;
  const root = mkdtempSync(path.join(os.tmpdir(), 'bm-unbuilt-'));
  try {
    for (const file of ['scripts/bm.cjs', 'lib/suggest.mjs']) cpSync(path.join(ROOT, file), path.join(root, file));
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'bm.cjs'), 'members', 'list'], { env: sandbox.env, encoding: 'utf8' });
    assert.is(result.status, 1, result.stderr);
    assert.match(result.stderr, /^Error: bm is not built \(.*\/dist\/commands\/members\.cjs is missing\)\. Run `npm run build` in /);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
