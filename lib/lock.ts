/**
 * The cross-process lock `<file>.lock`: a file holding its holder's token
 * (`<pid> <process start time> <nonce>`), created atomically with its content (link(2) of a
 * written temp file), so a lock file is never empty or half-written.
 *
 * A holder is dead when no live process has its pid AND its start time (a reused pid does not
 * match). Its lock is then taken over, and the take-over is itself exclusive: the right to
 * remove a dead holder's lock belongs to whoever creates `<lock>.break-<hash of its token>`
 * first. If that breaker dies too, the right passes to whoever creates the claim named after
 * the dead breaker's claim, and so on. Tokens are unique, so a lock removed once is never
 * removed again by a late breaker, and a live holder's lock is never removed by anyone but
 * itself (release checks the token first).
 */
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BmError } from './output.ts';
import { isOurs, startTimeOf } from './proc.ts';

let ownStart: string | undefined;

/** A fresh token for one hold of a lock. */
// node:crypto is loaded on first use (process.getBuiltinModule), as in lib/files.ts: read-only
// commands never take a lock.
function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

function newToken(): string {
  ownStart ??= startTimeOf(process.pid) || 'unknown';
  return `${process.pid} ${ownStart} ${crypto().randomBytes(8).toString('hex')}`;
}

/** True while the process that wrote `token` lives (a legacy pid-only token counts as dead). */
function holderAlive(token: string): boolean {
  const [pid, started] = token.split(' ');
  return isOurs(Number(pid), started);
}

function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Creates `file` holding `content` unless it exists: all or nothing, never an empty file. */
function createWith(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.${crypto().randomBytes(6).toString('hex')}.new`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  finally {
    rmSync(temp, { force: true });
  }
}

function hash(text: string): string {
  return crypto().createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Removes the lock of the dead holder `stale`, unless another live process already is. */
function breakStale(lock: string, stale: string): void {
  let claim = `${lock}.break-${hash(stale)}`;
  for (let depth = 0; depth < 64; depth++) {
    const mine = newToken();
    if (createWith(claim, mine)) {
      // Only the holder of this claim may remove the lock while it still holds `stale`.
      if (readToken(lock) === stale) unlinkSync(lock);
      rmSync(claim, { force: true });
      return;
    }
    const breaker = readToken(claim);
    if (breaker === undefined) return; // Cleaned up: the lock already moved on.
    if (holderAlive(breaker)) return; // Someone else is taking it over.
    claim = `${lock}.break-${hash(`${claim}\n${breaker}`)}`;
  }
}

/** Claims and temp files left by processes killed mid-take-over; safe once we hold the lock. */
function cleanLeftovers(lock: string): void {
  const dir = path.dirname(lock);
  const base = path.basename(lock);
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length + 1);
    // A temp file (`<lock or claim>.<pid>.<random>.new`) may belong to a live process about to
    // link it: only a dead writer's goes. Checked before claims, whose temp files share their prefix.
    if (rest.endsWith('.new')) {
      if (startTimeOf(Number(rest.split('.').at(-3))) === '') rmSync(path.join(dir, name), { force: true });
    } else if (rest.startsWith('break-')) {
      rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** Tries once to take `lock` with `token`; a dead holder's lock is broken first. */
function tryAcquire(lock: string, token: string): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createWith(lock, token)) {
      if (attempt > 0) cleanLeftovers(lock);
      return true;
    }
    const holder = readToken(lock);
    if (holder === undefined) continue; // Released meanwhile.
    if (holderAlive(holder)) return false;
    breakStale(lock, holder);
  }
  return false;
}

/** Removes the lock only if it is still ours. */
function release(lock: string, token: string): void {
  if (readToken(lock) === token) rmSync(lock, { force: true });
}

function lockTimeout(lock: string): BmError {
  const holder = readToken(lock)?.split(' ')[0];
  return new BmError(`Timed out waiting for ${lock}${holder ? ` (held by pid ${holder})` : ''}`, 'Another bm command is still working on this; wait for it to finish and try again.');
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuffer, 0, 0, ms);
}

/**
 * One hold of `<file>.lock` being taken: `acquired()` tries once, and throws once `timeoutMs`
 * has passed without success. The sync and async lock functions differ only in how they wait.
 */
function attempt(file: string, timeoutMs: number): { acquired: () => boolean; release: () => void } {
  const lock = `${file}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  const token = newToken();
  const deadline = Date.now() + timeoutMs;
  return {
    acquired: () => {
      if (tryAcquire(lock, token)) return true;
      if (Date.now() > deadline) throw lockTimeout(lock);
      return false;
    },
    release: () => release(lock, token),
  };
}

/**
 * Runs `fn` while holding `<file>.lock`. Synchronous on purpose: the critical sections are tiny
 * read-modify-write cycles of small JSON or YAML files.
 */
export function withFileLock<T>(file: string, fn: () => T, { timeoutMs = 10_000 } = {}): T {
  const hold = attempt(file, timeoutMs);
  while (!hold.acquired()) sleepSync(2 + Math.random() * 10);
  try {
    return fn();
  } finally {
    hold.release();
  }
}

/** Async variant of `withFileLock` for critical sections that run git or other processes. */
export async function withFileLockAsync<T>(file: string, fn: () => Promise<T>, { timeoutMs = 60_000 } = {}): Promise<T> {
  const hold = attempt(file, timeoutMs);
  while (!hold.acquired()) await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
  try {
    return await fn();
  } finally {
    hold.release();
  }
}
