/**
 * Safe file primitives: atomic writes, size-capped reads and a cross-process lock.
 *
 * State that bm must never lose (config, state.json, topology) is written to a temp file in the
 * same directory, fsynced, then renamed over the old one, so a crash leaves the old or the new
 * file, never half of one.
 */
import { closeSync, fsyncSync, openSync, writeSync, renameSync, chmodSync, mkdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { BmError } from './output.ts';

/** Writes `data` atomically (temp + fsync + rename) and sets `mode` even if the file existed. */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // The umask may have narrowed or (for an existing file) the old mode may differ: be explicit.
    chmodSync(temp, mode);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDir(path.dirname(file));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic there.
  }
}

/** Largest file bm parses as YAML or JSON: bigger inputs are refused before parsing. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** Reads a text file, refusing anything over `maxBytes`. Returns undefined when it does not exist. */
export function readTextIfExists(file: string, maxBytes = MAX_INPUT_BYTES): string | undefined {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (size > maxBytes) {
    throw new BmError(`${file} is ${size} bytes, over the ${maxBytes}-byte limit`, 'Check the file is the one bm wrote; move it aside to start fresh.');
  }
  return readFileSync(file, 'utf8');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuffer, 0, 0, ms);
}

/** Tries once to take `lock`; a lock whose holder is dead (or older than `staleMs`) is taken over. */
function tryAcquire(lock: string, staleMs: number): boolean {
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!lockIsStale(lock, staleMs)) return false;
      rmSync(lock, { force: true });
    }
  }
}

function lockTimeout(lock: string): BmError {
  return new BmError(`Timed out waiting for ${lock}`, 'Another bm command is still working on this; wait for it, or remove the lock file if no bm is running.');
}

/**
 * Runs `fn` while holding `<file>.lock`, an exclusively created file naming the holder's pid.
 * Synchronous on purpose: the critical sections are tiny read-modify-write cycles of small
 * JSON or YAML files.
 */
export function withFileLock<T>(file: string, fn: () => T, { timeoutMs = 10_000, staleMs = 30_000 } = {}): T {
  const lock = `${file}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (!tryAcquire(lock, staleMs)) {
    if (Date.now() > deadline) throw lockTimeout(lock);
    sleepSync(5 + Math.random() * 20);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Async variant of `withFileLock` for critical sections that run git or other processes. */
export async function withFileLockAsync<T>(file: string, fn: () => Promise<T>, { timeoutMs = 60_000, staleMs = 600_000 } = {}): Promise<T> {
  const lock = `${file}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (!tryAcquire(lock, staleMs)) {
    if (Date.now() > deadline) throw lockTimeout(lock);
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function lockIsStale(lock: string, staleMs: number): boolean {
  try {
    const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) return true;
    return Date.now() - statSync(lock).mtimeMs > staleMs;
  } catch {
    // Vanished between our open and read, or half-written by its creator: retry shortly.
    return false;
  }
}
