/**
 * Everything bm prints: errors with exit codes, tables, JSON, colour, progress.
 *
 * Results go to stdout, progress and warnings to stderr (DESIGN §6). Colour is used only when the
 * stream is a TTY and NO_COLOR is not set.
 */

// Node's own fs object, not an ES module copy of it: the bundler copies every property of a
// default import, and for fs that loaded its directory module too (about 0.7 ms per command).
const fs = process.getBuiltinModule('node:fs');

/** A standard stream by its file descriptor: 1 is stdout, 2 is stderr. */
export type Fd = 1 | 2;

// @speed-only-begin: Node's process.stdout and process.stderr objects load its stream, net and tty
// modules (about a tenth of `node -e 0`), which a command printing a few lines never needs: bm writes
// to the file descriptors itself, and asks the file system whether one is a terminal.
const streamed = new Set<Fd>();
const watched = new WeakSet<NodeJS.WriteStream>();

/** process.stdout or process.stderr, ending bm quietly when its reader goes away. */
export function streamOf(fd: Fd): NodeJS.WriteStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return stream;
}

/**
 * Writes to stdout or stderr, synchronously and in order. `bm members list | head` closes the
 * pipe early: that is the reader's choice, not an error, and bm ends quietly. A full
 * non-blocking pipe hands the rest, and every later write, to Node's stream, which queues them.
 */
export function write(fd: Fd, data: string | Uint8Array): void {
  let rest = typeof data === 'string' ? Buffer.from(data) : data;
  while (rest.length > 0 && !streamed.has(fd)) {
    try {
      rest = rest.subarray(fs.writeSync(fd, rest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw error;
      streamed.add(fd);
    }
  }
  if (rest.length > 0) streamOf(fd).write(rest);
}

/** True when the descriptor is a terminal (what `isTTY` says, without Node's stream objects). */
export function isTerminal(fd: 0 | Fd): boolean {
  let stats;
  try {
    stats = fs.fstatSync(fd);
  } catch {
    return false;
  }
  if (!stats.isCharacterDevice()) return false;
  // Linux's memory devices (/dev/null, /dev/zero) are character devices, never terminals.
  if (process.platform === 'linux' && stats.rdev >> 8 === 1) return false;
  return process.getBuiltinModule('node:tty').isatty(fd);
}
// @speed-only-end

/** Exit codes of the CLI contract. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/**
 * An error the operator can act on: `message` says what is wrong, `hint` how to fix it.
 * Printed as `Error: <message>. <hint>` with no stack trace.
 */
export class BmError extends Error {
  readonly hint: string;
  readonly exitCode: number;
  constructor(message: string, hint = '', exitCode: number = EXIT.error) {
    super(message);
    this.name = 'BmError';
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A usage mistake (unknown flag, missing argument): exit 2. */
export class UsageError extends BmError {
  constructor(message: string, hint = '') {
    super(message, hint, EXIT.usage);
    this.name = 'UsageError';
  }
}

const TOKEN_PATTERN = /\b(gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})\b/g;
const URL_CREDENTIALS = /(\/\/)[^/@\s:]+(:[^/@\s]*)?@/g;

/** Masks GitHub tokens and credentials in URLs, plus any extra secret values given. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(TOKEN_PATTERN, '***').replace(URL_CREDENTIALS, '$1***@');
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}

/** Formats an error for stderr: `Error: what. How to fix.` */
export function formatError(error: unknown): string {
  if (error instanceof BmError) {
    const what = error.message.replace(/[.\s]+$/, '');
    return redact(`Error: ${what}${/[?!]$/.test(what) ? '' : '.'}${error.hint ? ` ${error.hint}` : ''}`);
  }
  const access = accessProblem(error);
  if (access) return redact(access);
  const message = error instanceof Error ? error.message : String(error);
  return redact(`Error: ${message}`);
}

/** A file-system permission error, said in words with the fix; undefined for anything else. */
function accessProblem(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException;
  if (!e || typeof e !== 'object' || !['EACCES', 'EPERM', 'EROFS'].includes(e.code ?? '') || !e.path) return undefined;
  const doing = e.syscall === 'open' || e.syscall === 'scandir' || e.syscall === 'stat' ? 'read or write' : e.syscall ?? 'use';
  if (e.code === 'EROFS') return `Error: ${e.path} is on a read-only file system, so bm cannot ${doing} it. Point BM_HOME (or the workzone in config.yml) at a writable place.`;
  return `Error: Permission denied: bm cannot ${doing} ${e.path} (${e.code}). Check its owner and mode with \`ls -ld ${e.path}\` and make it writable by you (e.g. \`chmod u+rwX\`), or point BM_HOME at a folder you own.`;
}

/** Exit code for an error thrown out of a command. */
export function exitCodeOf(error: unknown): number {
  return error instanceof BmError ? error.exitCode : EXIT.error;
}

/** The JSON form of an error, printed on stderr under `--json`: `{"error": {message, hint, exitCode}}`. */
export function errorJson(error: unknown): string {
  const message = error instanceof Error ? error.message.replace(/[.\s]+$/, '') : String(error);
  const hint = error instanceof BmError ? error.hint : '';
  return redact(JSON.stringify({ error: { message, hint, exitCode: exitCodeOf(error) } }));
}

/**
 * Colour on a TTY, unless NO_COLOR is set or TERM is dumb. FORCE_COLOR overrides all of that,
 * as Node's own output does: set (and not `0` or `false`) it turns colour on, `0` turns it off.
 */
function useColour(fd: Fd): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return !process.env.NO_COLOR && process.env.TERM !== 'dumb' && isTerminal(fd);
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
type Style = keyof typeof CODES;

/** Wraps text in an ANSI style when stdout (or the given stream) is a colour TTY. */
export function style(name: Style, text: string, fd: Fd = 1): string {
  if (!useColour(fd)) return text;
  const [open, close] = CODES[name];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Writes a line to stdout. */
export function out(line = ''): void {
  write(1, `${line}\n`);
}

/** Writes a progress or diagnostic line to stderr. */
export function info(line: string): void {
  write(2, `${line}\n`);
}

/** Writes a warning to stderr. */
export function warn(line: string): void {
  write(2, `${style('yellow', 'Warning:', 2)} ${redact(line)}\n`);
}

const warnedAlready = new Set<string>();

/** `warn`, but a message repeated within one command is printed only the first time. */
export function warnOnce(line: string): void {
  if (warnedAlready.has(line)) return;
  warnedAlready.add(line);
  warn(line);
}

/** Prints a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  write(1, `${JSON.stringify(value, null, 2)}\n`);
}

let stringWidth: ((text: string) => number) | undefined;

/** Terminal cells the text takes: CJK and emoji take two, combining marks none, colour codes none. */
export function displayWidth(text: string): number {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  if (/^[\x20-\x7e]*$/.test(plain)) return plain.length;
  // @speed-only-begin: string-width compiles its Unicode tables when loaded: only for text that needs them.
  stringWidth ??= (process.getBuiltinModule('node:module').createRequire(import.meta.url)('string-width') as { default: (text: string) => number }).default;
  // @speed-only-end
  return stringWidth(plain);
}

/** `text` padded with spaces to `width` terminal cells. */
export function padCells(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * Renders rows as a table. On a TTY it draws box-drawing columns; when piped it prints
 * tab-separated values with a header line, which is easy to `cut` and `grep`.
 */
export function renderTable(headers: readonly string[], untrustedRows: readonly (readonly string[])[], tty = isTerminal(1)): string {
  const rows = untrustedRows.map((row) => row.map(oneLine));
  if (!tty) return [headers, ...rows].map((row) => row.join('\t')).join('\n');
  const widths = headers.map((header, col) => Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[col] ?? ''))));
  const line = (cells: readonly string[]) =>
    `│ ${cells.map((cell, col) => padCells(cell, widths[col])).join(' │ ')} │`;
  const rule = (left: string, mid: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`;
  return [rule('╭', '┬', '╮'), line(headers.map((h) => style('bold', h))), rule('├', '┼', '┤'), ...rows.map(line), rule('╰', '┴', '╯')].join('\n');
}

/**
 * A cell's text with control characters shown as escapes (colour codes kept): cells carry text
 * from files and API answers (issue titles, names), and a newline or tab in one must not forge a
 * row or a column.
 */
function oneLine(cell: string): string {
  // eslint-disable-next-line no-control-regex
  return cell.replace(/\u001b\[[0-9;]*m|[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (match) => {
    if (match.length > 1) return match;
    if (match === '\n') return '\\n';
    if (match === '\t') return '\\t';
    return `\\u${match.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Prints a table to stdout. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  out(renderTable(headers, rows));
}
