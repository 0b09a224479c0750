/**
 * Atomic writes and the cross-process lock: concurrent writers lose nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readTextIfExists, withFileLock, writeFileAtomic } from '../../lib/files.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('writeFileAtomic replaces content, enforces the mode and leaves no temp file', () => {
  const file = path.join(dir, 'secret.yml');
  writeFileSync(file, 'old', { mode: 0o644 });
  writeFileAtomic(file, 'new', 0o600);
  assert.is(readFileSync(file, 'utf8'), 'new');
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('readTextIfExists: missing file is undefined, oversize file is refused', () => {
  assert.is(readTextIfExists(path.join(dir, 'nope')), undefined);
  const big = path.join(dir, 'big');
  writeFileSync(big, 'x'.repeat(2048));
  assert.throws(() => readTextIfExists(big, 1024), /over the 1024-byte limit/);
});

test('a lock left by a dead process is taken over', () => {
  const file = path.join(dir, 'state.json');
  writeFileSync(`${file}.lock`, '999999999');
  assert.is(withFileLock(file, () => 42, { timeoutMs: 500 }), 42);
});

test('eight processes incrementing one counter under the lock lose no update', async () => {
  const file = path.join(dir, 'counter.json');
  writeFileSync(file, '0');
  const filesModule = path.resolve(import.meta.dirname, '../../lib/files.ts');
  const worker = `
    import { readFileSync } from 'node:fs';
    const { withFileLock, writeFileAtomic } = await import(${JSON.stringify(filesModule)});
    for (let i = 0; i < 25; i++) withFileLock(${JSON.stringify(file)}, () => writeFileAtomic(${JSON.stringify(file)}, String(Number(readFileSync(${JSON.stringify(file)}, 'utf8')) + 1)));
  `;
  await Promise.all(Array.from({ length: 8 }, () => new Promise<void>((resolve, reject) => {
    const args = 'Deno' in globalThis ? ['eval', worker] : ['--import', 'tsx', '--input-type=module', '-e', worker];
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
  })));
  assert.is(readFileSync(file, 'utf8'), '200');
});

test.run();
