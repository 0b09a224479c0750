/**
 * Safe file primitives: atomic writes, size-capped reads and a cross-process lock.
 *
 * State that bm must never lose (config, state.json, topology) is written to a temp file in the
 * same directory, fsynced, then renamed over the old one, so a crash leaves the old or the new
 * file, never half of one.
 */
import { closeSync, constants, copyFileSync, existsSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, truncateSync, writeSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { BmError } from './output.ts';

/** Options of `writeFileAtomic`. */
export interface WriteOptions {
  /** fsync the file and its folder (default true). Off for files the next sync rewrites anyway. */
  durable?: boolean;
  /**
   * A folder `file` must stay inside: every folder between it and the file is checked not to be
   * a symlink (missing ones are created), so a planted link cannot lead the write elsewhere.
   */
  within?: string;
}

/**
 * Writes `data` atomically (temp + fsync + rename) and sets `mode` even if the file existed.
 * The temp file has a random name and is created exclusively, so it is never a planted symlink
 * or another writer's file; the rename replaces a symlink at `file` instead of following it.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644, { durable = true, within }: WriteOptions = {}): void {
  // Folders bm creates for its own files (BM_HOME and below) are private.
  if (within === undefined) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  else ensureRealFolders(within, path.dirname(file));
  // node:crypto is loaded here, on first use: loading it costs about a twelfth of `node -e 0`,
  // and read-only commands (status, members list) never need it.
  const temp = `${file}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, data);
    if (durable) fsyncSync(fd);
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
  if (durable) syncDir(path.dirname(file));
}

/**
 * Makes sure `dir` is `root` or a real folder below it: each existing part is a folder, not a
 * symlink; missing parts are created. Throws a BmError naming the offending part otherwise.
 */
export function ensureRealFolders(root: string, dir: string): void {
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new BmError(`Refusing to write to ${dir}: it is outside ${root}`);
  let current = root;
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    current = path.join(current, part);
    let st;
    try {
      st = lstatSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(current);
      continue;
    }
    if (st.isSymbolicLink()) throw new BmError(`${current} is a symlink; bm will not write through it`, `Replace it with a real folder (or remove it) and run the command again.`);
    if (!st.isDirectory()) throw new BmError(`A file is where a folder should be: ${current}`, 'Move it away and run the command again.');
  }
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

/**
 * Copies `file` to `<file>.1` (older copies shift up to `<file>.<keep>`) and empties it in
 * place. Truncating rather than renaming keeps every process that appends to it (O_APPEND),
 * such as a running member or the daemon's own stdout, writing into the current file.
 */
export function rotateFile(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    const from = `${file}.${i}`;
    if (existsSync(from)) renameSync(from, `${file}.${i + 1}`);
  }
  rmSync(`${file}.${keep + 1}`, { force: true });
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
}

/** Size at which member and daemon logs rotate (`BM_LOG_MAX_BYTES`, default 10 MiB). */
export function maxLogBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_LOG_MAX_BYTES ?? env.BM_DAEMON_LOG_MAX_BYTES);
  return Number.isFinite(value) && value > 0 ? value : 10 * 1024 * 1024;
}

/** Rotates a log that has grown past `maxBytes` (keeping 3 old copies); false when it had not. */
export function rotateIfOver(file: string, maxBytes = maxLogBytes()): boolean {
  let size: number;
  try {
    size = lstatSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  rotateFile(file, 3);
  return true;
}

/** Largest file bm parses as YAML or JSON: bigger inputs are refused before parsing. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * Reads a text file, refusing anything over `maxBytes` or anything but a regular file. Returns
 * undefined when it does not exist. The file is opened non-blocking and checked on the open
 * descriptor, so a FIFO or a device (`/dev/zero`) planted in its place is refused, never read.
 */
export function readTextIfExists(file: string, maxBytes = MAX_INPUT_BYTES): string | undefined {
  return readBounded(file, maxBytes, 0)?.toString('utf8');
}

/**
 * `readTextIfExists` for files an agent or a project can write (a workspace's ralph.yml,
 * `.git/info/exclude`, the team repo): a symlink is refused too, so it cannot copy an outside
 * file in.
 */
export function readAgentFile(file: string, maxBytes = MAX_INPUT_BYTES): string | undefined {
  return readAgentBytes(file, maxBytes)?.toString('utf8');
}

/** `readAgentFile` as bytes, for files that may not be text. */
export function readAgentBytes(file: string, maxBytes = MAX_INPUT_BYTES): Buffer | undefined {
  return readBounded(file, maxBytes, constants.O_NOFOLLOW);
}

function readBounded(file: string, maxBytes: number, extraFlags: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | extraFlags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new BmError(`${file} is a symlink; bm does not read through it`, 'Replace it with a regular file.');
    throw error;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BmError(`${file} is not a regular file`, 'Replace it with a regular file (bm never reads FIFOs, devices or folders there).');
    if (st.size > maxBytes) throw tooBig(file, st.size, maxBytes);
    // The file may grow while we read: never take more than maxBytes + 1 bytes.
    let buffer = Buffer.alloc(st.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.alloc(Math.min(buffer.length, maxBytes + 1 - length))]);
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw tooBig(file, length, maxBytes);
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function tooBig(file: string, size: number, maxBytes: number): BmError {
  return new BmError(`${file} is ${size} bytes, over the ${maxBytes}-byte limit`, 'Check the file is the one bm wrote; move it aside to start fresh.');
}

export { withFileLock, withFileLockAsync } from './lock.ts';
