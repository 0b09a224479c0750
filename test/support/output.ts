/**
 * Catches what bm's own code prints in the test process: lib/output.ts writes to descriptors 1
 * and 2 through fs.writeSync (not through process.stdout), so that is where it is caught.
 */
import fs from 'node:fs';

/** Hands every write to stdout (1) or stderr (2) to `onWrite` instead; returns the function that undoes it. */
export function interceptOutput(onWrite: (fd: 1 | 2, text: string) => void): () => void {
  const writeSync = fs.writeSync;
  fs.writeSync = ((fd: number, data: string | Uint8Array, ...rest: never[]) => {
    if (fd !== 1 && fd !== 2) return writeSync(fd, data as never, ...rest);
    onWrite(fd, typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
    return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }) as typeof fs.writeSync;
  return () => {
    fs.writeSync = writeSync;
  };
}
