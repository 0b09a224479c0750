/**
 * The one check that decides whether the kube-sim tests run: kubectl must be on PATH and be
 * 1.27 or newer (Debian's kubernetes-client 1.20 is not); otherwise they skip, saying why.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectlProblem, parseKubectlVersion } from '../support/kube-sim/kubectl.ts';

let dir: string;

test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-kubectl-gate-'));
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A PATH holding only a fake `kubectl` that prints `output` (no kubectl at all when undefined). */
function fakePath(output?: string): NodeJS.ProcessEnv {
  if (output !== undefined) {
    // A shell builtin only: PATH holds nothing else.
    writeFileSync(path.join(dir, 'kubectl'), `#!/bin/sh\nprintf '%s\\n' '${output}'\n`);
    chmodSync(path.join(dir, 'kubectl'), 0o755);
  }
  return { PATH: dir };
}

const version = (minor: string, gitVersion: string) => JSON.stringify({ clientVersion: { major: '1', minor, gitVersion } });

test('the versions kubectl reports: the dispatcher says 32+, Debian 20', () => {
  assert.equal(parseKubectlVersion(version('32+', 'v1.32.4-dispatcher')), { major: 1, minor: 32, text: 'v1.32.4-dispatcher' });
  assert.equal(parseKubectlVersion(version('20', 'v1.20.2')), { major: 1, minor: 20, text: 'v1.20.2' });
  assert.equal(parseKubectlVersion(JSON.stringify({ clientVersion: { gitVersion: 'v1.29.14' } })), { major: 1, minor: 29, text: 'v1.29.14' });
  assert.is(parseKubectlVersion('not json'), undefined);
});

test('a recent kubectl passes; an old one, a missing one or one that reports nothing are reasons to skip', async () => {
  assert.is(await kubectlProblem(fakePath(version('32+', 'v1.32.4-dispatcher'))), undefined);
  assert.is(await kubectlProblem(fakePath(version('27', 'v1.27.16'))), undefined);
  assert.match(await kubectlProblem(fakePath(version('20', 'v1.20.2'))) ?? '', 'kubectl v1.20.2 is older than 1.27');
  assert.match(await kubectlProblem(fakePath('garbage')) ?? '', 'did not report a version');
  rmSync(path.join(dir, 'kubectl'));
  assert.is(await kubectlProblem(fakePath()), 'kubectl is not on PATH');
});

test.run();
