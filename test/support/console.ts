/**
 * Helpers for the console tests: `bm console` run as a real foreground process in a sandbox, its
 * printed URL, plain HTTP requests to it and its event stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { interrupt } from './processes.ts';
import { BM_COMMAND, type Sandbox } from './sandbox.ts';

/** A running `bm console`. */
export interface ConsoleProcess {
  /** The URL it printed, with the token. */
  url: string;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  token: string;
  child: ChildProcess;
  stderr(): string;
  /** Sends SIGINT (Ctrl-C) and resolves with the exit code once it is gone. */
  stop(): Promise<number | null>;
}

/** Starts `bm console --port 0 <args>` and waits for its URL. */
export function startConsoleProcess(sandbox: Sandbox, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ConsoleProcess> {
  const child = spawn(BM_COMMAND[0], [...BM_COMMAND.slice(1), 'console', '--port', '0', ...args], { cwd: sandbox.dir, env: { ...sandbox.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bm console printed no URL within 30 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bm console exited ${code} before printing its URL\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const match = /(http:\/\/(\S+?):(\d+))\/\?token=(\S+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[0],
        origin: match[1],
        port: Number(match[3]),
        token: match[4],
        child,
        stderr: () => stderr,
        stop: async () => {
          interrupt(child);
          const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
          if (code === 'timeout') {
            child.kill('SIGKILL');
            throw new Error(`bm console did not stop within 15 s of SIGINT\nstderr: ${stderr}`);
          }
          return code;
        },
      });
    });
  });
}

/** An HTTP answer. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request to 127.0.0.1:`port`. */
export function http(port: number, method: string, urlPath: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An open event stream: the events received so far, and a way to wait for one. */
export interface EventStream {
  events: { event: string; data: unknown }[];
  /** Resolves with the first event (already received or still to come) that `match` accepts. */
  next<T>(match: (event: string, data: T) => boolean, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** Opens `urlPath` as a server-sent event stream with the given headers. */
export function eventStream(port: number, urlPath: string, headers: Record<string, string>): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const waiters = new Set<() => void>();
    const req = request({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`event stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
        for (const wake of waiters) wake();
      });
      resolve({
        events,
        next: <T>(match: (event: string, data: T) => boolean, timeoutMs = 10_000) => new Promise<T>((done, fail) => {
          const check = () => {
            const found = events.find((e) => match(e.event, e.data as T));
            if (!found) return false;
            waiters.delete(check);
            clearTimeout(timer);
            done(found.data as T);
            return true;
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`no matching event within ${timeoutMs} ms; got: ${events.map((e) => e.event).join(', ')}`));
          }, timeoutMs);
          if (!check()) waiters.add(check);
        }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
