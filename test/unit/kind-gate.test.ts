/**
 * The kind suite's gate: without BM_KIND_TESTS it is skipped; asked for with BM_KIND_TESTS=1 on a
 * machine without kind or docker it FAILS, saying what is missing (a skip would read as a pass).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../support/sandbox.ts';

/** Runs the kind suite file with `env` and a PATH holding only node (so no kind, docker or kubectl). */
function kindSuite(env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'bm-kind-gate-'));
  symlinkSync(process.execPath, path.join(bin, 'node'));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'kind', 'k8s-formation.test.ts')], {
      cwd: ROOT, env: { HOME: process.env.HOME, PATH: bin, ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => {
      rmSync(bin, { recursive: true, force: true });
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

test('BM_KIND_TESTS=1 without kind or docker fails the suite and says what is missing', async () => {
  const { code, output } = await kindSuite({ BM_KIND_TESTS: '1' });
  assert.is.not(code, 0, output);
  assert.match(output, /BM_KIND_TESTS=1, but kind is not installed/);
  assert.match(output, /Install kind .*or unset BM_KIND_TESTS/);
});

test('without BM_KIND_TESTS the suite is skipped, not failed', async () => {
  const { code, output } = await kindSuite({});
  assert.is(code, 0, output);
  assert.match(output, /Skipped:\s+1/);
});

test.run();
