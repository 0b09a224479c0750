/**
 * lib/lock.ts under attack: holders killed with SIGKILL inside the critical section, take-overs
 * racing each other, and a lock that is not ours left alone on release.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withFileLock } from '../../lib/lock.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-lock-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const lockModule = path.resolve(import.meta.dirname, '../../lib/lock.ts');
const procModule = path.resolve(import.meta.dirname, '../../lib/proc.ts');

test('a lock held by a dead process is taken over; release leaves a lock that is not ours', () => {
  const file = path.join(dir, 'a.json');
  writeFileSync(`${file}.lock`, '999999999 0@dead 00');
  // A live breaker's temp file, about to be linked as its claim, and a dead one's.
  const liveTemp = `${file}.lock.break-0123456789abcdef.${process.pid}.a1b2c3.new`;
  const deadTemp = `${file}.lock.break-0123456789abcdef.999999999.a1b2c3.new`;
  writeFileSync(liveTemp, '');
  writeFileSync(deadTemp, '');
  assert.is(withFileLock(file, () => 42, { timeoutMs: 2000 }), 42);
  assert.not.ok(existsSync(`${file}.lock`));
  assert.ok(existsSync(liveTemp), 'the clean-up after a take-over leaves a live process\'s temp file alone');
  assert.not.ok(existsSync(deadTemp), 'and removes a dead one\'s');
  rmSync(liveTemp);
  // Someone else's lock replaces ours while we are inside: our release must not remove it.
  withFileLock(file, () => writeFileSync(`${file}.lock`, `${process.pid} other 11`));
  assert.is(readFileSync(`${file}.lock`, 'utf8'), `${process.pid} other 11`);
});

test('8 processes × 200 rounds with holders killed by SIGKILL: the critical section is never shared', async () => {
  const file = path.join(dir, 'shared.json');
  const inside = path.join(dir, 'inside');
  const violations = path.join(dir, 'violations');
  const ROUNDS = 200;
  // Each worker continues its own quota (its progress file) after a respawn. Inside the lock it
  // checks that no live process is inside, marks itself, spins a little and unmarks.
  const worker = `
    import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
    const { withFileLock } = await import(${JSON.stringify(lockModule)});
    const { startTimeOf } = await import(${JSON.stringify(procModule)});
    const progress = process.argv.at(-1);
    let done = 0;
    try { done = statSync(progress).size; } catch {}
    for (; done < ${ROUNDS}; done++) {
      withFileLock(${JSON.stringify(file)}, () => {
        let other = 0;
        try { other = Number(readFileSync(${JSON.stringify(inside)}, 'utf8')); } catch {}
        if (other && other !== process.pid && startTimeOf(other) !== '') appendFileSync(${JSON.stringify(violations)}, process.pid + ' entered while ' + other + ' was inside\\n');
        writeFileSync(${JSON.stringify(inside)}, String(process.pid));
        const until = Date.now() + 1;
        while (Date.now() < until);
        rmSync(${JSON.stringify(inside)}, { force: true });
      }, { timeoutMs: 60000 });
      appendFileSync(progress, '.');
    }
  `;
  const args = 'Deno' in globalThis ? ['eval', worker] : ['--import', 'tsx', '--input-type=module', '-e', worker];
  const running = new Map<number, ChildProcess>();
  let kills = 0;
  const finished: Promise<void>[] = [];
  const start = (i: number): Promise<void> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, path.join(dir, `progress-${i}`)], { stdio: ['ignore', 'ignore', 'inherit'] });
    running.set(i, child);
    child.on('exit', (code, signal) => {
      running.delete(i);
      if (signal === 'SIGKILL') start(i).then(resolve, reject);
      else if (code === 0) resolve();
      else reject(new Error(`worker ${i} exited ${code}`));
    });
  });
  for (let i = 0; i < 8; i++) finished.push(start(i));
  const all = Promise.all(finished);
  let over = false;
  void all.finally(() => (over = true)).catch(() => undefined);
  // Kill whoever is inside, now and then, until 12 holders died mid-section.
  while (!over && kills < 12) {
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    let holder = 0;
    try {
      holder = Number(readFileSync(inside, 'utf8'));
    } catch {
      continue;
    }
    if (![...running.values()].some((c) => c.pid === holder)) continue;
    try {
      process.kill(holder, 'SIGKILL');
      kills++;
    } catch {
      // Gone meanwhile: Deno reaps a child before it reports the exit, Node only as it reports it.
    }
  }
  await all;
  const progress = readdirSync(dir).filter((f) => f.startsWith('progress-')).map((f) => statSync(path.join(dir, f)).size);
  assert.equal(progress, Array(8).fill(ROUNDS), 'every worker finished its rounds');
  assert.ok(kills >= 3, `holders were killed inside the section (${kills})`);
  assert.is(existsSync(violations) ? readFileSync(violations, 'utf8') : '', '', 'two processes were inside at once');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('shared.json.')), [], 'no lock, claim or temp file is left');
});

test.run();
