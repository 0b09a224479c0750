/**
 * The one-daemon-per-team lock: a Unix socket the daemon listens on for its whole life.
 *
 * The kernel closes the socket when the process dies, however it dies (kill -9 included), so
 * the lock can never be held by a dead daemon. A socket file left behind refuses connections;
 * it is then removed and bound again. That check-and-rebind runs under a file lock, so two
 * daemons starting at the same moment cannot both take over the same stale file.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import { withFileLockAsync } from '../files.ts';

/** A held lock. */
export interface DaemonLock {
  release(): Promise<void>;
}

function tryListen(file: string): Promise<net.Server | 'in-use'> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      // Anyone who connects only learns that the daemon is alive.
      socket.on('error', () => undefined);
      socket.end();
    });
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve('in-use') : reject(error)));
    server.listen(file, () => resolve(server));
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
  return withFileLockAsync(file, async () => {
    let server = await tryListen(file);
    if (server === 'in-use') {
      if (await answers(file)) return undefined;
      rmSync(file, { force: true });
      server = await tryListen(file);
      if (server === 'in-use') return undefined;
    }
    const held = server;
    held.unref();
    return {
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
