/**
 * Reading member and daemon logs: the tail of a file, and what was appended since an offset
 * (for `bm logs -f` and `bm daemon log -f`).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** The last `count` non-empty lines of a log file (none when it is unreadable). */
export function tailLines(file: string, count: number, maxBytes = 64 * 1024): string[] {
  if (count <= 0) return [];
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      const start = size - length;
      let read = 0;
      while (read < length) {
        const n = readSync(fd, buffer, read, length - read, start + read);
        if (n === 0) break;
        read += n;
      }
      return buffer.subarray(0, read).toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-count);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}

/**
 * What was appended to a log file since byte `offset`, and the new offset. A file that shrank
 * (rotated or truncated) is read again from the start; an unreadable one yields nothing.
 */
export function readAppended(file: string, offset: number): { data: Buffer; offset: number } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { data: Buffer.alloc(0), offset };
  }
  const from = size < offset ? 0 : offset;
  const data = Buffer.alloc(size - from);
  if (data.length === 0) return { data, offset: size };
  const fd = openSync(file, 'r');
  try {
    readSync(fd, data, 0, data.length, from);
  } finally {
    closeSync(fd);
  }
  return { data, offset: size };
}

/**
 * Follows `files` like `tail -f`: polls each for appended bytes, from its current end (a file
 * that does not exist yet, from its start; a truncated or rotated one, from its start again),
 * and hands them to `onAppend`. Returns the function that stops following.
 */
export function followAppends(files: readonly string[], onAppend: (file: string, data: Buffer) => void, pollMs = 250): () => void {
  const offsets = new Map(files.map((file) => [file, sizeOf(file)]));
  const timer = setInterval(() => {
    for (const file of files) {
      const appended = readAppended(file, offsets.get(file) ?? 0);
      offsets.set(file, appended.offset);
      if (appended.data.length > 0) onAppend(file, appended.data);
    }
  }, pollMs);
  return () => clearInterval(timer);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
