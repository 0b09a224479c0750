/**
 * The HTTP side of `bm console`: a single page, its JSON API under /api/, and a server-sent event
 * stream that pushes a new snapshot whenever the team changes.
 *
 * Security, in order of each request: the Host must name the address the console listens on
 * (no DNS rebinding); the per-run token must come with the request, as the HttpOnly cookie set by
 * the first visit or as `Authorization: Bearer <token>`; a `?token=` visit sets that cookie and
 * redirects to the same URL without the token, so it stays out of the history and of Referer
 * headers; an action (POST) authenticated by the cookie must also come from the console's own
 * origin and be JSON (which a cross-site form cannot send). Every answer carries a strict CSP
 * (no inline script), no-referrer, frame-ancestors 'none' and nosniff.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { listen } from '../daemon/server.ts';
import { followAppends, positionOf, tailLines } from '../logs.ts';
import { GitHubError } from '../github.ts';
import { answerItem, approveItem, describeAction, rejectItem, type ItemActionResult } from '../inbox.ts';
import { BmError, formatError } from '../output.ts';
import { BM_ROOT } from '../paths.ts';
import type { Team } from '../team.ts';
import { requestedMembers, startAction, stopAction, type ActionResult } from './actions.ts';
import { GitHubWatch } from './github.ts';
import { buildView, localDeath, LogTracker, watchTeam, type ConsoleView } from './view.ts';

/** What `startConsole` needs. */
export interface ConsoleOptions {
  team: Team;
  port: number;
  bind: string;
  readOnly: boolean;
  /** The per-run secret (default: 32 random bytes). */
  token?: string;
  /** Called with one line per action taken (never with the token). */
  onAction?: (line: string) => void;
}

/** A console that listens. */
export interface RunningConsole {
  /** The URL to open: it carries the token. */
  url: string;
  port: number;
  token: string;
  /** Ends every stream and connection, stops watching, and closes the port. */
  close(): Promise<void>;
}

/** Where the install-time build puts the page (tasks/build-web.mjs). */
export const WEB_DIR = path.join(BM_ROOT, 'dist', 'console');

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether `bind` is a loopback address (the default, and the only one bound without --bind). */
export function isLoopback(bind: string): boolean {
  return LOOPBACK.has(bind) || bind.startsWith('127.');
}

/** Largest action body accepted. */
const MAX_BODY = 64 * 1024;

/** Lines of a member's log sent before following it. */
const LOG_BACKLOG = 200;

function readAssets(): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  for (const [route, file] of Object.entries(ASSETS)) {
    try {
      assets.set(route, readFileSync(path.join(WEB_DIR, file)));
    } catch {
      throw new BmError(`The console's page is not built (${path.join(WEB_DIR, file)} is missing)`, `Run \`npm run build\` in ${BM_ROOT} (npm install does it).`);
    }
  }
  return assets;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(text ? JSON.parse(text) : {});
      } catch {
        reject(new Error('request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** Opens an event stream on `res`. */
function openStream(res: ServerResponse): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write(': bm console\n\n');
}

function sendEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Starts the console's server; it serves until `close()`. */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { team, readOnly } = options;
  const assets = readAssets();
  const token = options.token ?? randomBytes(32).toString('base64url');
  const logs = new LogTracker();
  const streams = new Set<ServerResponse>();
  const followers = new Set<() => void>();
  let port = options.port;
  // Cookies are per host, not per port: each console's cookie has its own name.
  let cookie = '';

  let view: ConsoleView | undefined;
  let viewJson = '';
  let building: Promise<ConsoleView> | undefined;
  let again = false;
  let journalSeen = '';
  let lastProblem = '';
  const github = team.entry.github_repo ? new GitHubWatch(team, () => void refresh()) : undefined;

  /** Rebuilds the snapshot (one build at a time) and pushes it when it changed. */
  const refresh = (): Promise<ConsoleView> => {
    if (building) {
      again = true;
      return building;
    }
    building = (async () => {
      try {
        do {
          again = false;
          let next: ConsoleView;
          try {
            next = await buildView(team, logs, readOnly, github ? github.view : null);
          } catch (error) {
            // The first look must work (bm console then fails with the reason); later the page
            // keeps the last snapshot while, say, the team repo is being rewritten.
            if (!view) throw error;
            const message = formatError(error);
            if (message !== lastProblem) options.onAction?.(`could not read the team: ${message}`);
            lastProblem = message;
            continue;
          }
          lastProblem = '';
          // The daemon heard from GitHub: the inbox and the board may have changed too.
          const heard = next.journal.filter((e) => e.ts > journalSeen && (e.type === 'delivery' || e.type === 'poll'));
          journalSeen = next.journal.at(-1)?.ts ?? journalSeen;
          if (heard.length > 0 && view) github?.nudge();
          const json = JSON.stringify(next);
          if (json !== viewJson) {
            view = next;
            viewJson = json;
            for (const res of streams) res.write(`event: view\ndata: ${json}\n\n`);
          }
        } while (again);
        return view as ConsoleView;
      } finally {
        building = undefined;
      }
    })();
    return building;
  };
  const current = async (): Promise<ConsoleView> => view ?? refresh();

  // On loopback only these names reach the console: any other Host is a rebound DNS name. Bound
  // elsewhere (--bind), it is reached by whatever name the network gives it; the token guards it.
  const hostAllowed = (host: string | undefined): boolean => {
    if (!isLoopback(options.bind)) return true;
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${options.bind}:${port}`].includes(host ?? '');
  };

  const act = async (res: ServerResponse, name: string, action: () => Promise<ActionResult>): Promise<void> => {
    try {
      const result = await action();
      options.onAction?.(`${name}: ${result.lines.join('; ')}`);
      sendJson(res, result.ok ? 200 : 500, result);
    } catch (error) {
      const message = formatError(error);
      options.onAction?.(`${name} failed: ${message}`);
      // GitHub's own failures are a bad gateway; bm's refusals (bad input, wrong state) a bad request.
      sendError(res, error instanceof GitHubError ? 502 : error instanceof BmError ? 400 : 500, message);
    }
    void refresh();
  };

  const followLog = async (req: IncomingMessage, res: ServerResponse, key: string): Promise<void> => {
    const member = (await current()).status.members.find((m) => m.key === key);
    if (!member?.log) return sendError(res, 404, `No member '${key}' in team '${team.name}'.`);
    const file = member.log;
    openStream(res);
    const end = positionOf(file);
    sendEvent(res, 'lines', tailLines(file, LOG_BACKLOG, 1024 * 1024, end.offset));
    let partial = '';
    const stop = followAppends([file], (_, data) => {
      const lines = (partial + data.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length) sendEvent(res, 'lines', lines);
    }, { from: new Map([[file, end]]) });
    followers.add(stop);
    req.on('close', () => {
      stop();
      followers.delete(stop);
    });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    if (!hostAllowed(req.headers.host)) return sendError(res, 403, 'Unknown Host header: open the URL bm console printed.');

    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null) {
      if (req.method !== 'GET' || !same(fromQuery, token)) return sendError(res, 401, 'Wrong or expired token: open the URL bm console printed this time.');
      url.searchParams.delete('token');
      const location = url.pathname + (url.search || '');
      return send(res, 303, 'text/plain; charset=utf-8', 'Signed in.\n', { Location: location, 'Set-Cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/` });
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const fromCookie = cookieValue(req, cookie);
    const by = bearer !== undefined ? (same(bearer, token) ? 'header' : undefined) : fromCookie !== undefined && same(fromCookie, token) ? 'cookie' : undefined;
    if (!by) return sendError(res, 401, 'This console needs its token: open the URL bm console printed (or send Authorization: Bearer <token>).');

    if (req.method === 'GET' || req.method === 'HEAD') {
      if (url.pathname === '/') return send(res, 200, TYPES['.html'], withView(assets.get('/') as Buffer, await current()));
      const asset = assets.get(url.pathname);
      if (asset) return send(res, 200, TYPES[path.extname(ASSETS[url.pathname])] ?? 'application/octet-stream', asset);
      switch (url.pathname) {
        case '/api/view': return sendJson(res, 200, await current());
        case '/api/status': return sendJson(res, 200, (await current()).status);
        case '/api/daemon': return sendJson(res, 200, (await current()).daemon);
        case '/api/inbox': {
          if (!github) return sendError(res, 404, `Team '${team.name}' has no GitHub repository, so it has no inbox.`);
          if (!github.view.at) await github.read();
          return github.view.inbox ? sendJson(res, 200, github.view.inbox) : sendError(res, 502, github.view.error ?? 'The inbox could not be read.');
        }
        case '/api/events': {
          openStream(res);
          streams.add(res);
          req.on('close', () => streams.delete(res));
          sendEvent(res, 'view', await current());
          return;
        }
        case '/api/logs': return followLog(req, res, url.searchParams.get('member') ?? '');
        default: return sendError(res, 404, `Nothing at ${url.pathname}.`);
      }
    }
    if (req.method !== 'POST') return sendError(res, 405, `${req.method} is not allowed.`);
    if (by === 'cookie') {
      const origin = req.headers.origin;
      if (!origin || hostOf(origin) !== req.headers.host) return sendError(res, 403, 'Cross-origin request refused.');
    }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return sendError(res, 415, 'Actions take a JSON body (Content-Type: application/json).');
    if (readOnly) return sendError(res, 403, 'This console is read-only (started with --read-only).');
    let body: Record<string, unknown>;
    try {
      body = (await readBody(req)) as Record<string, unknown>;
    } catch (error) {
      return sendError(res, 400, (error as Error).message);
    }
    const inboxAction = /^\/api\/inbox\/(answer|approve|reject)$/.exec(url.pathname)?.[1];
    if (inboxAction) {
      if (!github) return sendError(res, 404, `Team '${team.name}' has no GitHub repository, so it has no inbox.`);
      return act(res, `inbox ${inboxAction}`, async () => {
        const result = await inboxActionOf(inboxAction, team.name, body);
        await github.read();
        return { ok: true, lines: describeAction(result) };
      });
    }
    if (url.pathname !== '/api/start' && url.pathname !== '/api/stop') return sendError(res, 404, `No action at ${url.pathname}.`);
    let members: string[];
    try {
      members = requestedMembers(team, body.members);
    } catch (error) {
      return sendError(res, 400, formatError(error));
    }
    if (url.pathname === '/api/start') return act(res, 'start', () => startAction(team, members));
    return act(res, 'stop', () => stopAction(team, members, body.force === true));
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, (error as Error).message);
      else res.end();
    });
  });
  port = await listen(server, options.port, options.bind);
  cookie = `bm_console_${port}`;
  void github?.read();
  const stopWatching = watchTeam(team, () => void refresh(), () => view !== undefined && localDeath(view));
  await refresh();

  const host = options.bind.includes(':') ? `[${options.bind}]` : options.bind;
  return {
    url: `http://${host}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      stopWatching();
      github?.stop();
      for (const stop of followers) stop();
      for (const res of streams) res.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Answers, approves or rejects an inbox item through lib/inbox.ts, as `bm answer|approve|reject` do. */
async function inboxActionOf(action: string, teamName: string, body: Record<string, unknown>): Promise<ItemActionResult> {
  const number = Number(body.number);
  const text = typeof body.text === 'string' ? body.text : '';
  if (action === 'answer') return answerItem(teamName, number, text, 'console');
  if (action === 'approve') return approveItem(teamName, number, text || undefined, 'console');
  return rejectItem(teamName, number, text, 'console');
}

/**
 * The page with the current snapshot in it, as a JSON data block (not a script: the CSP allows
 * no inline script, and a data block runs nothing), so the first paint needs no second trip.
 */
function withView(page: Buffer, view: ConsoleView): string {
  const data = JSON.stringify(view).replace(/</g, '\\u003c');
  return page.toString('utf8').replace('</head>', `  <script type="application/json" id="initial-view">${data}</script>\n</head>`);
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
}
