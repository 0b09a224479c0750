/**
 * Reading member and daemon logs: the tail of a file, and what was appended since an offset
 * (for `bm logs -f` and `bm daemon log -f`).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/**
 * The last `count` non-empty lines of a log file (none when it is unreadable), up to byte `end`
 * (default: its end now). A follower passes the position it will follow from, so a line appended
 * meanwhile is printed once, by the follower, instead of never or twice.
 */
export function tailLines(file: string, count: number, maxBytes = 64 * 1024, end?: number): string[] {
  if (count <= 0) return [];
  try {
    const size = Math.min(statSync(file).size, end ?? Infinity);
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

/** Where a follower stands in a log: which file (by inode) and how far into it. */
export interface LogPosition {
  ino: number;
  offset: number;
}

/**
 * What was appended to a log file since `position`, and the new position. A different file at
 * that path (rotated by rename: another inode) or one that shrank (truncated) is read from its
 * start; a missing or unreadable one yields nothing.
 */
export function readAppended(file: string, position: LogPosition): { data: Buffer; position: LogPosition } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { data: Buffer.alloc(0), position };
  }
  try {
    const { ino, size } = fstatSync(fd);
    const from = ino !== position.ino || size < position.offset ? 0 : position.offset;
    const chunks: Buffer[] = [];
    let offset = from;
    // Read to the end, however much was written meanwhile: one read may return less.
    for (;;) {
      const chunk = Buffer.alloc(Math.max(size - offset, 64 * 1024));
      const n = readSync(fd, chunk, 0, chunk.length, offset);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      offset += n;
    }
    return { data: Buffer.concat(chunks), position: { ino, offset } };
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows `files` like `tail -F`: polls each for appended bytes, from its position in `from`
 * (taken before printing what was there, so nothing written in between is lost) or else its
 * current end (a file that does not exist yet, from its start; a rotated or truncated one, from
 * its start again), and hands them to `onAppend`. Returns the function that stops following.
 */
export function followAppends(files: readonly string[], onAppend: (file: string, data: Buffer) => void, { pollMs = 250, from = new Map<string, LogPosition>() } = {}): () => void {
  const positions = new Map(files.map((file) => [file, from.get(file) ?? positionOf(file)]));
  const timer = setInterval(() => {
    for (const file of files) {
      const appended = readAppended(file, positions.get(file) ?? { ino: -1, offset: 0 });
      positions.set(file, appended.position);
      if (appended.data.length > 0) onAppend(file, appended.data);
    }
  }, pollMs);
  return () => clearInterval(timer);
}

/** The end of a file now; for a missing file, a position that reads whatever file appears. */
export function positionOf(file: string): LogPosition {
  try {
    const { ino, size } = statSync(file);
    return { ino, offset: size };
  } catch {
    return { ino: -1, offset: 0 };
  }
}
