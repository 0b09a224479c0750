/**
 * lib/logs.ts followAppends, behind `bm logs -f` and `bm daemon log -f`: only new bytes, a file
 * that appears later, and a truncated (rotated) file read again from its start.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { followAppends, positionOf, readAppended, tailLines } from '../../lib/logs.ts';
import { waitFor } from '../support/wait.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('followAppends hands over appended bytes only, including a file created later and a rotated one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-logs-'));
  const existing = path.join(dir, 'a.log');
  const later = path.join(dir, 'b.log');
  writeFileSync(existing, 'before\n');
  const seen: string[] = [];
  const stop = followAppends([existing, later], (file, data) => seen.push(`${path.basename(file)}:${data.toString()}`), { pollMs: 20 });
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

test('a log rotated by rename is read from its start, even when the new file is already longer', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-logs-'));
  const file = path.join(dir, 'm.log');
  try {
    writeFileSync(file, 'old\n');
    const first = readAppended(file, { ino: -1, offset: 0 });
    assert.is(first.data.toString(), 'old\n');
    appendFileSync(file, 'more\n');
    const second = readAppended(file, first.position);
    assert.is(second.data.toString(), 'more\n', 'only the appended bytes');
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'a new file, longer than the old offset\n');
    assert.is(readAppended(file, second.position).data.toString(), 'a new file, longer than the old offset\n', 'nothing of the new file is lost');
    const big = 'x'.repeat(200 * 1024);
    writeFileSync(file, big);
    assert.is(readAppended(file, { ino: -1, offset: 0 }).data.length, big.length, 'a large append is read whole');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a line written between printing the tail and following it is printed once, by the follower', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-logs-'));
  const file = path.join(dir, 'm.log');
  writeFileSync(file, 'one\ntwo\n');
  const seen: string[] = [];
  let stop = () => {};
  try {
    const end = positionOf(file);
    appendFileSync(file, 'written meanwhile\n'); // as a member writes while bm prints the tail
    assert.equal(tailLines(file, 5, 1024, end.offset), ['one', 'two'], 'the tail stops where the follower starts');
    stop = followAppends([file], (_, data) => seen.push(data.toString()), { pollMs: 20, from: new Map([[file, end]]) });
    await waitFor('the line written meanwhile', () => seen.join('').includes('written meanwhile'), 5000);
    assert.equal(seen, ['written meanwhile\n']);
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
