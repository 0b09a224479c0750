/**
 * Helpers for the daemon tests: recorded GitHub payloads (`@octokit/webhooks-examples`) signed
 * with the team's secret and posted over real HTTP, the daemon's files, and waiting.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { parse, stringify } from 'yaml';
import { ROOT, type Sandbox } from './sandbox.ts';
import { jsonLines } from './wait.ts';

interface Definition {
  name: string;
  examples: Record<string, unknown>[];
}

let definitions: Definition[] | undefined;

/** A recorded payload of `event` (with `action`, when given), about repository `repo` when given. */
export function example(event: string, action?: string, repo?: string): Record<string, unknown> {
  definitions ??= JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8')) as Definition[];
  const found = definitions.find((d) => d.name === event)?.examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no recorded ${event}${action ? `.${action}` : ''} payload`);
  return repo ? { ...found, repository: { ...(found.repository as object), full_name: repo } } : found;
}

/** The team's webhook secret from the sandbox's operator config. */
export function webhookSecret(sandbox: Sandbox, team: string): string {
  const config = parse(readFileSync(path.join(sandbox.bmHome, 'config.yml'), 'utf8')) as { teams: { name: string; credentials?: { webhook_secret?: string } }[] };
  const secret = config.teams.find((t) => t.name === team)?.credentials?.webhook_secret;
  if (!secret) throw new Error(`team ${team} has no webhook secret`);
  return secret;
}

/** One HTTP exchange. */
export interface HttpResult {
  status: number;
  body: string;
  ms: number;
}

/** Sends a raw HTTP request to the daemon on 127.0.0.1. */
export function httpRequest(port: number, method: string, urlPath: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<HttpResult> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - began }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Options of `deliver`. */
export interface DeliveryOptions {
  id?: string;
  /** Replaces the computed signature; null leaves the header out. */
  signature?: string | null;
  contentType?: string;
  /** Sign with this secret instead of the team's. */
  secret?: string;
  /** Send as a hook with content type `form` does: `payload=<JSON>`, form-encoded. */
  form?: boolean;
}

/** Posts `payload` (an object, or raw text) to /webhook as GitHub would, signed over the exact bytes. */
export async function deliver(port: number, secret: string, event: string, payload: Record<string, unknown> | string, options: DeliveryOptions = {}): Promise<HttpResult> {
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const body = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  const signature = options.signature === undefined ? await sign(options.secret ?? secret, body) : options.signature;
  const headers: Record<string, string | number> = {
    'content-type': options.contentType ?? (options.form ? 'application/x-www-form-urlencoded' : 'application/json'),
    'content-length': Buffer.byteLength(body),
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-event': event,
    'x-github-delivery': options.id ?? randomUUID(),
    'x-github-hook-id': '1',
  };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return httpRequest(port, 'POST', '/webhook', headers, body);
}

/** Points `team` at GitHub repo `repo` with token `token`, as `bm init --github-repo` would have. */
export function connectTeam(sandbox: Sandbox, team: string, repo: string, token: string): void {
  const file = path.join(sandbox.bmHome, 'config.yml');
  const config = parse(readFileSync(file, 'utf8')) as { teams: { name: string; github_repo?: string; credentials?: Record<string, string> }[] };
  const entry = config.teams.find((t) => t.name === team);
  if (!entry) throw new Error(`no team ${team}`);
  entry.github_repo = repo;
  entry.credentials = { ...entry.credentials, gh_token: token };
  writeFileSync(file, stringify(config), { mode: 0o600 });
}

/** The daemon directory of a team in the sandbox. */
export function daemonDir(sandbox: Sandbox, team: string): string {
  return path.join(sandbox.bmHome, 'daemon', team);
}

/** A journal line. */
export interface JournalLine {
  ts: string;
  type: string;
  member?: string;
  outcome?: string;
  id?: string;
  pid?: number;
  [key: string]: unknown;
}

/** The team's journal. */
export function journal(sandbox: Sandbox, team: string): JournalLine[] {
  return jsonLines<JournalLine>(path.join(daemonDir(sandbox, team), 'journal.jsonl'));
}

/** The daemon's daemon.json (`T`: the fields a test reads). */
export function daemonJson<T extends object = { pid: number; port: number; mode: string }>(sandbox: Sandbox, team: string): T {
  return JSON.parse(readFileSync(path.join(daemonDir(sandbox, team), 'daemon.json'), 'utf8')) as T;
}

/** Waits until `condition` holds, then asserts it (so a timeout fails with `what`). */
export { waitFor } from './wait.ts';

export { alive } from './processes.ts';

/** `bm init` (offline) + hires + `bm teams sync`: a team whose members have workspaces. */
export async function daemonTeam(sandbox: Sandbox, team: string, hires: string[]): Promise<void> {
  await sandbox.ok(['init', '--non-interactive', '--team-name', team, '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  for (const hire of hires) {
    const [role, name] = hire.split(':');
    await sandbox.ok(['hire', role, '--name', name]);
  }
  await sandbox.ok(['teams', 'sync']);
}

/** The pid of the daemon's launcher helper (`bm daemon launcher`, a child of the daemon), Linux only. */
export function launcherPid(daemonPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === daemonPid && readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes('launcher')) return Number(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}
