/**
 * Append-only files that never grow without bound: the daemon log and the journal.
 *
 * Rotation copies the file to `<file>.1` (shifting older copies up to `keep`) and truncates the
 * original in place. The daemon's own stdout/stderr point at the same file through an inherited
 * O_APPEND descriptor; renaming the file would leave them writing into the old copy, while
 * truncating keeps every writer on the current file.
 */
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { rotateFile } from '../files.ts';
import { redact, write } from '../output.ts';

/** A file opened for appending, rotated when it passes `maxBytes`. */
export class RotatingFile {
  readonly file: string;
  readonly maxBytes: number;
  readonly keep: number;
  #fd: number;
  /** Bytes in the file as far as this writer knows (other writers may have added some). */
  #size: number;

  constructor(file: string, maxBytes: number, keep = 3) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.file = file;
    this.maxBytes = maxBytes;
    this.keep = keep;
    this.#fd = openSync(file, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  /**
   * Appends `text` in one write, rotating first when the file is full. The size is counted here
   * and asked of the file system only near the limit: the journal is written on the webhook
   * request path, where a stat per line is a cost worth avoiding.
   */
  write(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.#size + bytes > this.maxBytes) {
      this.#size = fstatSync(this.#fd).size;
      if (this.#size + bytes > this.maxBytes) this.rotate();
    }
    writeSync(this.#fd, text);
    this.#size += bytes;
  }

  /** Copies the file to `<file>.1` (older copies shift up) and empties it. */
  rotate(): void {
    rotateFile(this.file, this.keep);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Log levels of the daemon log. */
export type Level = 'INFO' | 'WARN' | 'ERROR';

/** Writes `[ISO time] LEVEL message` lines, secrets masked. */
export class Logger {
  readonly #out: RotatingFile;
  readonly #secrets: string[];
  readonly #echo: boolean;

  /** `echo` also writes each line to stderr (for `bm daemon run` in a terminal). */
  constructor(out: RotatingFile, secrets: (string | undefined)[] = [], echo = false) {
    this.#out = out;
    this.#secrets = secrets.filter((s): s is string => Boolean(s));
    this.#echo = echo;
  }

  log(level: Level, message: string): void {
    const line = `[${new Date().toISOString()}] ${level} ${redact(message, this.#secrets)}\n`;
    this.#out.write(line);
    if (this.#echo) write(2, line);
  }

  info(message: string): void {
    this.log('INFO', message);
  }

  warn(message: string): void {
    this.log('WARN', message);
  }

  error(message: string): void {
    this.log('ERROR', message);
  }
}

export { maxLogBytes } from '../files.ts';
