/**
 * The one-daemon-per-team lock: a Unix socket the daemon listens on for its whole life.
 *
 * The kernel closes the socket when the process dies, however it dies (kill -9 included), so
 * the lock can never be held by a dead daemon. A socket file left behind refuses connections;
 * it is then removed and bound again. That check-and-rebind runs under a file lock, so two
 * daemons starting at the same moment cannot both take over the same stale file.
 *
 * The same socket carries the operator's local requests to the running daemon (`bm answer`
 * waking the member that asked): one JSON line in, one JSON line out. Only processes that can
 * reach the socket file (mode 600, in the 700 daemon dir) can ask, and all they can ask for is
 * a run of a member, as any GitHub event could.
 */
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { withFileLockAsync } from '../files.ts';

/** Answers one local request (a parsed JSON object) with a JSON-serialisable reply. */
export type RequestHandler = (request: Record<string, unknown>) => Record<string, unknown>;

/** A held lock. */
export interface DaemonLock {
  /** Starts answering local requests (until then, and for anything unparseable, the answer is an error). */
  serve(handler: RequestHandler): void;
  release(): Promise<void>;
}

/** The longest request line accepted. */
const MAX_REQUEST_BYTES = 16 * 1024;

function tryListen(file: string, handle: (request: Record<string, unknown>) => Record<string, unknown>): Promise<net.Server | 'in-use'> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      // A liveness probe connects and goes; a request is one line, sent at once.
      socket.setTimeout(2000, () => socket.destroy());
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const end = buffered.indexOf('\n');
        if (end === -1 && buffered.length <= MAX_REQUEST_BYTES) return;
        socket.removeAllListeners('data');
        let reply: Record<string, unknown>;
        try {
          const request: unknown = JSON.parse(end === -1 ? '' : buffered.slice(0, end));
          reply = request && typeof request === 'object' && !Array.isArray(request) ? handle(request as Record<string, unknown>) : { ok: false, error: 'not a JSON object' };
        } catch (error) {
          reply = { ok: false, error: (error as Error).message };
        }
        socket.end(`${JSON.stringify(reply)}\n`);
      });
    });
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve('in-use') : reject(error)));
    server.listen(file, () => {
      // The socket may live in the shared temp dir (long paths): only its owner may talk to it.
      chmodSync(file, 0o600);
      resolve(server);
    });
  });
}

function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/** Takes the lock at `file`, or returns undefined when a live daemon holds it. */
export async function acquireDaemonLock(file: string): Promise<DaemonLock | undefined> {
  let handler: RequestHandler | undefined;
  const handle = (request: Record<string, unknown>) => (handler ? handler(request) : { ok: false, error: 'the daemon is still starting' });
  return withFileLockAsync(file, async () => {
    let server = await tryListen(file, handle);
    if (server === 'in-use') {
      if (await answers(file)) return undefined;
      rmSync(file, { force: true });
      server = await tryListen(file, handle);
      if (server === 'in-use') return undefined;
    }
    const held = server;
    held.unref();
    return {
      serve: (next) => {
        handler = next;
      },
      release: () => new Promise<void>((resolve) => {
        held.close(() => resolve());
        rmSync(file, { force: true });
      }),
    };
  }, { timeoutMs: 10_000 });
}

/** True when a live daemon holds the lock at `file`. */
export function lockHeld(file: string): Promise<boolean> {
  return answers(file);
}

/**
 * Sends one request to the team's running daemon over its lock socket; resolves to the reply,
 * or undefined when no daemon answers (not running, or gone meanwhile).
 */
export function askDaemon(file: string, request: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    let received = '';
    let settled = false;
    const done = (reply: Record<string, unknown> | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    socket.once('end', () => {
      try {
        const reply: unknown = JSON.parse(received.trim());
        done(reply && typeof reply === 'object' ? (reply as Record<string, unknown>) : undefined);
      } catch {
        done(undefined);
      }
    });
    socket.once('error', () => done(undefined));
  });
}
