/**
 * lib/logs.ts followAppends, behind `bm logs -f` and `bm daemon log -f`: only new bytes, a file
 * that appears later, and a truncated (rotated) file read again from its start.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { followAppends } from '../../lib/logs.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('followAppends hands over appended bytes only, including a file created later and a rotated one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-logs-'));
  const existing = path.join(dir, 'a.log');
  const later = path.join(dir, 'b.log');
  writeFileSync(existing, 'before\n');
  const seen: string[] = [];
  const stop = followAppends([existing, later], (file, data) => seen.push(`${path.basename(file)}:${data.toString()}`), 20);
  try {
    appendFileSync(existing, 'one\n');
    writeFileSync(later, 'first\n');
    await sleep(100);
    writeFileSync(existing, 'new\n'); // truncated: shorter than what was read
    await sleep(100);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(seen, ['a.log:one\n', 'b.log:first\n', 'a.log:new\n']);
});

test.run();
