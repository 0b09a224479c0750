/**
 * An in-process fake of api.github.com for tests: the REST endpoints and GraphQL operations bm
 * uses, with GitHub's response shapes, headers and status codes. Repositories are real bare git
 * repos under `dataDir`, so `git push` to their `clone_url` works.
 *
 * Point bm at it with `BM_GITHUB_API_URL=<url>` (or `<url>/api/v3`, which it also serves, the way
 * GitHub Enterprise does). Keys of `repos`, `labels` and events' repos are lower-case `owner/name`.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { answerQuery, graphqlFailure, inputOf } from './fake-graphql.ts';

const run = promisify(execFile);

/** Options of `startFakeGitHub`. */
export interface FakeGitHubOptions {
  /** Login of the token's user (default `octocat`). */
  login?: string;
  /** Organisations the user belongs to. */
  orgs?: string[];
  /** Other existing user accounts. */
  users?: string[];
  /** When set, any other token gets 401 Bad credentials. */
  token?: string;
  /** Scopes reported in `X-OAuth-Scopes` (default repo, project, read:org). */
  scopes?: string[];
  /** Where bare repos go (default: a temp dir removed by `close()`). */
  dataDir?: string;
}

/** A request as the fake received it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** An account (user or organisation). */
export interface FakeAccount {
  login: string;
  id: number;
  node_id: string;
  type: 'User' | 'Organization';
}

/** A repository: GitHub's repository object plus the path of its bare git repo. */
export interface FakeRepo {
  id: number;
  node_id: string;
  name: string;
  full_name: string;
  private: boolean;
  description: string | null;
  owner: Record<string, unknown>;
  html_url: string;
  url: string;
  clone_url: string;
  default_branch: string;
  bareDir: string;
  [key: string]: unknown;
}

/** A label as GitHub returns it. */
export interface FakeLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: boolean;
  description: string | null;
}

/** A single-select option of a project field. */
export interface FakeOption {
  id: string;
  name: string;
  color: string;
  description: string;
}

/** A Projects v2 field. */
export interface FakeField {
  id: string;
  name: string;
  dataType: string;
  options?: FakeOption[];
}

/** A Projects v2 board. */
export interface FakeBoard {
  id: string;
  number: number;
  title: string;
  url: string;
  owner: string;
  closed: boolean;
  fields: FakeField[];
  items: FakeItem[];
}

/** An issue comment. */
export interface FakeComment {
  id: number;
  node_id: string;
  author: string;
  body: string;
  created_at: string;
  html_url: string;
}

/** An issue of a fake repository (`repo` is the lower-case `owner/name` key). */
export interface FakeIssue {
  id: number;
  node_id: string;
  repo: string;
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  /** Label names. */
  labels: string[];
  comments: FakeComment[];
  /** When each label was added, oldest first (the timeline's LabeledEvents). */
  labelEvents: { label: string; created_at: string }[];
  created_at: string;
  html_url: string;
}

/** An item of a board: an issue, and its Status option id (or null). */
export interface FakeItem {
  id: string;
  issue: FakeIssue;
  status: string | null;
  /** ISO time of its last change (GitHub's `updatedAt`). */
  updatedAt?: string;
}

/** A repository event as the Events API returns it. */
export interface FakeEvent {
  id: string;
  type: string;
  actor: Record<string, unknown>;
  repo: { id: number; name: string; url: string };
  payload: Record<string, unknown>;
  public: boolean;
  created_at: string;
}

/** A repository webhook (`secret` is kept here; GitHub's answers mask it). */
export interface FakeHook {
  id: number;
  active: boolean;
  events: string[];
  config: { url: string; content_type: string; insecure_ssl: string; secret?: string };
  created_at: string;
  updated_at: string;
  /** GitHub's record of the last delivery: code null and status `unused` until the first. */
  last_response: { code: number | null; status: string; message: string | null };
}

/** A running fake. */
export interface FakeGitHub {
  url: string;
  requests: FakeRequest[];
  repos: Map<string, FakeRepo>;
  labels: Map<string, FakeLabel[]>;
  boards: FakeBoard[];
  /** Newest first, all repos. */
  events: FakeEvent[];
  /** Webhooks by repo key. */
  hooks: Map<string, FakeHook[]>;
  /**
   * Delivers an event to the repo's active hooks that subscribe to it, as GitHub does (signed,
   * JSON or form), and records each answer as the hook's `last_response`.
   */
  deliver(repo: string, event: string, payload: Record<string, unknown>): Promise<void>;
  /** The REST core rate limit; set `remaining` to 0 to get 403s until `reset` (epoch seconds). */
  rateLimit: { limit: number; remaining: number; reset: number };
  dataDir: string;
  /** The next request matching method (or `*`) and path answers with this instead. */
  failNext(method: string, pathRegex: RegExp, status: number, body?: unknown, headers?: Record<string, string>): void;
  /**
   * Adds an event to a repo's timeline (default: the last repo created) and changes its ETag.
   * Its actor is `actor` (default `monalisa`, a collaborator who is not the token's user).
   */
  pushEvent(type: string, payload?: Record<string, unknown>, repo?: string, actor?: string): FakeEvent;
  /** Seeds an existing repository (with its bare git repo) as if created earlier. */
  addRepo(fullName: string, options?: { private?: boolean; description?: string }): Promise<FakeRepo>;
  /** Every issue, all repos. */
  issues: FakeIssue[];
  /** Seeds an issue (default: in the last repo created), optionally on a board (by title) in a Status (by name). */
  addIssue(options: { repo?: string; title: string; body?: string; labels?: string[]; board?: string; status?: string; createdAt?: string }): FakeIssue;
  /** Adds a comment by the token's user, as `gh issue comment` would. */
  addComment(issue: FakeIssue, body: string, createdAt?: string): FakeComment;
  /** The Status (option name) of an issue on the board titled `board`, or null. */
  statusOf(issue: FakeIssue, board: string): string | null;
  /** Sets the Status of `issue`'s item on board `boardTitle`, as a person dragging it would. */
  moveItem(issue: FakeIssue, boardTitle: string, status: string): void;
  /** Seeds a Projects v2 board of `owner` (an existing account) as if created earlier. */
  addBoard(owner: string, title: string): FakeBoard;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Bad credentials', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 422: 'Validation Failed',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};
const OPTION_COLORS = new Set(['GRAY', 'BLUE', 'GREEN', 'YELLOW', 'ORANGE', 'RED', 'PINK', 'PURPLE']);
const DEFAULT_LABELS: [string, string, string][] = [
  ['bug', 'd73a4a', "Something isn't working"], ['documentation', '0075ca', 'Improvements or additions to documentation'],
  ['duplicate', 'cfd3d7', 'This issue or pull request already exists'], ['enhancement', 'a2eeef', 'New feature or request'],
  ['good first issue', '7057ff', 'Good for newcomers'], ['help wanted', '008672', 'Extra attention is needed'],
  ['invalid', 'e4e669', "This doesn't seem right"], ['question', 'd876e3', 'Further information is requested'],
  ['wontfix', 'ffffff', 'This will not be worked on'],
];

class HttpReply {
  constructor(readonly status: number, readonly body?: unknown, readonly headers: Record<string, string> = {}) {}
}

function errorBody(status: number, message = STATUS_TEXT[status] ?? 'Error', extra: Record<string, unknown> = {}) {
  return { message, ...extra, documentation_url: DOCS, status: String(status) };
}

function notFound(): HttpReply {
  return new HttpReply(404, errorBody(404));
}

/** Starts the fake on 127.0.0.1 with a free port. */
export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const login = opts.login ?? 'octocat';
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'bm-fake-github-')));
  let nextId = 1000;
  const newId = () => ++nextId;
  let nextEventId = 40_000_000_000;

  const accounts = new Map<string, FakeAccount>();
  const addAccount = (name: string, type: FakeAccount['type']) => {
    const id = newId();
    accounts.set(name.toLowerCase(), { login: name, id, node_id: `${type === 'User' ? 'U' : 'O'}_kgDO${id.toString(36).toUpperCase()}`, type });
  };
  addAccount(login, 'User');
  for (const org of opts.orgs ?? []) addAccount(org, 'Organization');
  for (const user of opts.users ?? []) addAccount(user, 'User');

  const requests: FakeRequest[] = [];
  const repos = new Map<string, FakeRepo>();
  const labels = new Map<string, FakeLabel[]>();
  const boards: FakeBoard[] = [];
  const events: FakeEvent[] = [];
  const hooks = new Map<string, FakeHook[]>();
  const rateLimit = { limit: 5000, remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600 };
  const failures: { method: string; path: RegExp; reply: HttpReply }[] = [];
  const issues: FakeIssue[] = [];
  let lastRepo: string | null = null;
  let url = '';

  const accountJson = (account: FakeAccount) => ({
    login: account.login, id: account.id, node_id: account.node_id,
    avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`, gravatar_id: '',
    url: `${url}/${account.type === 'User' ? 'users' : 'orgs'}/${account.login}`, html_url: `https://github.com/${account.login}`,
    type: account.type, site_admin: false,
  });

  async function createRepo(owner: FakeAccount, name: string, isPrivate: boolean, description: string | null): Promise<FakeRepo> {
    const fullName = `${owner.login}/${name}`;
    const bareDir = join(dataDir, owner.login, `${name}.git`);
    await mkdir(join(dataDir, owner.login), { recursive: true });
    await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', bareDir]);
    const id = newId();
    const now = new Date().toISOString();
    const repo: FakeRepo = {
      id, node_id: `R_kgDO${id.toString(36).toUpperCase()}`, name, full_name: fullName, private: isPrivate,
      owner: accountJson(owner), html_url: `https://github.com/${fullName}`, description, fork: false,
      url: `${url}/repos/${fullName}`, clone_url: pathToFileURL(bareDir).href, git_url: `git://github.com/${fullName}.git`,
      ssh_url: `git@github.com:${fullName}.git`, homepage: null, size: 0, stargazers_count: 0, watchers_count: 0,
      language: null, has_issues: true, has_projects: true, has_wiki: true, archived: false, disabled: false,
      open_issues_count: 0, visibility: isPrivate ? 'private' : 'public', default_branch: 'main',
      created_at: now, updated_at: now, pushed_at: now, permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
      bareDir,
    };
    const key = fullName.toLowerCase();
    repos.set(key, repo);
    labels.set(key, DEFAULT_LABELS.map(([labelName, color, desc]) => labelJson(repo, labelName, color, desc, true)));
    lastRepo = key;
    return repo;
  }

  function labelJson(repo: FakeRepo, name: string, color: string, description: string | null, isDefault = false): FakeLabel {
    const id = newId();
    return { id, node_id: `LA_kwDO${id.toString(36).toUpperCase()}`, url: `${repo.url}/labels/${encodeURIComponent(name)}`, name, color, default: isDefault, description };
  }

  function publicRepo(repo: FakeRepo): Record<string, unknown> {
    const { bareDir: _bareDir, ...json } = repo;
    return json;
  }

  function paginate<T>(query: Record<string, string>, path: string, items: T[], defaultPerPage = 30): { page: T[]; link?: string } {
    const perPage = Math.min(Math.max(Number(query.per_page) || defaultPerPage, 1), 100);
    const pageNo = Math.max(Number(query.page) || 1, 1);
    const page = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const at = (n: number) => `<${url}${path}?per_page=${perPage}&page=${n}>`;
    const links: string[] = [];
    if (pageNo < last) links.push(`${at(pageNo + 1)}; rel="next"`, `${at(last)}; rel="last"`);
    if (pageNo > 1) links.push(`${at(1)}; rel="first"`, `${at(pageNo - 1)}; rel="prev"`);
    return { page, link: links.length ? links.join(', ') : undefined };
  }

  function eventsEtag(key: string, query: Record<string, string>): string {
    const ids = events.filter((e) => e.repo.name.toLowerCase() === key).map((e) => e.id).join(',');
    return `W/"${createHash('sha1').update(`${key}|${query.per_page ?? ''}|${query.page ?? ''}|${ids}`).digest('hex')}"`;
  }

  // --- REST routes -----------------------------------------------------------------------------

  async function rest(method: string, segs: string[], req: FakeRequest): Promise<HttpReply> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (method === 'GET' && segs.length === 1 && segs[0] === 'user') return new HttpReply(200, accountJson(accounts.get(login.toLowerCase())!));
    if (method === 'GET' && segs.length === 2 && segs[0] === 'users') {
      const account = accounts.get(segs[1].toLowerCase());
      return account ? new HttpReply(200, accountJson(account)) : notFound();
    }
    if (method === 'POST' && ((segs.length === 2 && segs[0] === 'user' && segs[1] === 'repos') || (segs.length === 3 && segs[0] === 'orgs' && segs[2] === 'repos'))) {
      const owner = segs[0] === 'user' ? accounts.get(login.toLowerCase())! : accounts.get(segs[1].toLowerCase());
      if (!owner || (segs[0] === 'orgs' && owner.type !== 'Organization')) return notFound();
      const name = typeof body.name === 'string' ? body.name : '';
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
        return new HttpReply(422, errorBody(422, 'Repository creation failed.', { errors: [{ resource: 'Repository', code: 'missing_field', field: 'name' }] }));
      }
      if (repos.has(`${owner.login}/${name}`.toLowerCase())) {
        return new HttpReply(422, errorBody(422, 'Repository creation failed.', {
          errors: [{ resource: 'Repository', code: 'custom', field: 'name', message: 'name already exists on this account' }],
        }));
      }
      const description = typeof body.description === 'string' ? body.description : null;
      const repo = await createRepo(owner, name, body.private !== false, description);
      return new HttpReply(201, publicRepo(repo), { location: repo.url });
    }
    // Where GitHub's events page links point: /repositories/{id}/events.
    if (method === 'GET' && segs.length === 3 && segs[0] === 'repositories' && segs[2] === 'events') {
      const byId = [...repos.entries()].find(([, r]) => String(r.id) === segs[1]);
      return byId ? listEvents(byId[0], true, req) : notFound();
    }
    if (segs[0] !== 'repos' || segs.length < 3) return notFound();

    // Below: /repos/{owner}/{repo}/<rest>, matched on "<METHOD> <rest>".
    const key = `${segs[1]}/${segs[2]}`.toLowerCase();
    const repo = repos.get(key);
    const route = `${method} ${segs.slice(3).join('/')}`;
    if (route === 'GET events') return listEvents(key, Boolean(repo), req);
    if (!repo) return notFound();
    if (route === 'GET ') return new HttpReply(200, publicRepo(repo));
    const repoLabels = labels.get(key)!;
    if (route === 'GET labels') {
      const { page, link } = paginate(req.query, req.path, repoLabels);
      return new HttpReply(200, page, link ? { link } : {});
    }
    if (route === 'POST labels') {
      const name = typeof body.name === 'string' ? body.name : '';
      const color = typeof body.color === 'string' ? body.color.replace(/^#/, '') : 'ededed';
      if (!name) return new HttpReply(422, errorBody(422, 'Validation Failed', { errors: [{ resource: 'Label', code: 'missing_field', field: 'name' }] }));
      if (!/^[0-9a-fA-F]{6}$/.test(color)) return new HttpReply(422, errorBody(422, 'Validation Failed', { errors: [{ resource: 'Label', code: 'invalid', field: 'color' }] }));
      if (repoLabels.some((l) => l.name.toLowerCase() === name.toLowerCase())) {
        return new HttpReply(422, { message: 'Validation Failed', errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
          documentation_url: 'https://docs.github.com/rest/issues/labels#create-a-label', status: '422' });
      }
      const label = labelJson(repo, name, color.toLowerCase(), typeof body.description === 'string' ? body.description : null);
      repoLabels.push(label);
      return new HttpReply(201, label);
    }
    if (method === 'PATCH' && segs.length === 5 && segs[3] === 'labels') {
      const label = repoLabels.find((l) => l.name.toLowerCase() === segs[4].toLowerCase());
      if (!label) return notFound();
      if (typeof body.new_name === 'string' && body.new_name) label.name = body.new_name;
      if (typeof body.color === 'string') label.color = body.color.replace(/^#/, '').toLowerCase();
      if (typeof body.description === 'string') label.description = body.description;
      label.url = `${repo.url}/labels/${encodeURIComponent(label.name)}`;
      return new HttpReply(200, label);
    }
    if (segs[3] === 'hooks') return hookRoute(method, segs.slice(4), key, repo, body, req);
    if (route === 'POST issues') {
      if (typeof body.title !== 'string' || !body.title) return new HttpReply(422, errorBody(422, 'Validation Failed', { errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }] }));
      const issue = newIssue(key, body.title, typeof body.body === 'string' ? body.body : '', Array.isArray(body.labels) ? body.labels.map(String) : []);
      return new HttpReply(201, issueJson(issue));
    }
    if (segs[3] === 'issues' && segs.length >= 5) {
      const issue = issues.find((i) => i.repo === key && String(i.number) === segs[4]);
      if (!issue) return notFound();
      const sub = `${method} ${segs.slice(5).join('/')}`;
      if (sub === 'GET ') return new HttpReply(200, issueJson(issue));
      if (sub === 'POST comments') {
        if (typeof body.body !== 'string' || !body.body) return new HttpReply(422, errorBody(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }] }));
        return new HttpReply(201, commentJson(addIssueComment(issue, body.body)));
      }
      if (sub === 'POST labels') {
        const names = Array.isArray(body.labels) ? body.labels.map(String) : [];
        for (const name of names) addIssueLabel(issue, name);
        return new HttpReply(200, issue.labels.map((n) => repoLabels.find((l) => l.name === n)));
      }
      if (method === 'DELETE' && segs.length === 7 && segs[5] === 'labels') {
        if (!issue.labels.includes(segs[6])) return new HttpReply(404, errorBody(404, 'Label does not exist'));
        issue.labels = issue.labels.filter((n) => n !== segs[6]);
        return new HttpReply(200, issue.labels.map((n) => repoLabels.find((l) => l.name === n)));
      }
    }
    return notFound();
  }

  // --- Webhooks --------------------------------------------------------------------------------

  function hookJson(repo: FakeRepo, hook: FakeHook): Record<string, unknown> {
    const { secret, ...config } = hook.config;
    const at = `${repo.url}/hooks/${hook.id}`;
    return {
      type: 'Repository', id: hook.id, name: 'web', active: hook.active, events: hook.events, config: secret ? { ...config, secret: '********' } : config,
      updated_at: hook.updated_at, created_at: hook.created_at, url: at, test_url: `${at}/test`, ping_url: `${at}/pings`, deliveries_url: `${at}/deliveries`,
      last_response: hook.last_response,
    };
  }

  /** Checks a hook's fields as GitHub does; returns the 422 to answer, or undefined. */
  function invalidHook(key: string, hook: FakeHook): HttpReply | undefined {
    const fail = (message: string) => new HttpReply(422, { message: 'Validation Failed', errors: [{ resource: 'Hook', code: 'custom', message }],
      documentation_url: 'https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook', status: '422' });
    if (!/^https?:\/\/./.test(hook.config.url)) return fail('Config must contain URL for webhooks');
    if (!['json', 'form'].includes(hook.config.content_type)) return fail(`Config content type must be one of: json, form`);
    if ((hooks.get(key) ?? []).some((h) => h !== hook && h.config.url === hook.config.url)) return fail('Hook already exists on this repository');
    return undefined;
  }

  function hookRoute(method: string, rest: string[], key: string, repo: FakeRepo, body: Record<string, unknown>, req: FakeRequest): HttpReply {
    const list = hooks.get(key) ?? [];
    hooks.set(key, list);
    const config = (body.config && typeof body.config === 'object' ? body.config : {}) as Record<string, unknown>;
    const apply = (hook: FakeHook) => {
      if (Array.isArray(body.events)) hook.events = body.events.map(String);
      if (typeof body.active === 'boolean') hook.active = body.active;
      for (const field of ['url', 'content_type', 'insecure_ssl', 'secret'] as const) if (typeof config[field] === 'string') hook.config[field] = config[field];
      hook.updated_at = nowIso();
    };
    if (rest.length === 0 && method === 'GET') {
      const { page, link } = paginate(req.query, req.path, list.map((h) => hookJson(repo, h)));
      return new HttpReply(200, page, link ? { link } : {});
    }
    if (rest.length === 0 && method === 'POST') {
      const hook: FakeHook = { id: newId(), active: true, events: ['push'], config: { url: '', content_type: 'form', insecure_ssl: '0' }, created_at: nowIso(), updated_at: nowIso(),
        last_response: { code: null, status: 'unused', message: null } };
      apply(hook);
      const invalid = invalidHook(key, hook);
      if (invalid) return invalid;
      list.push(hook);
      // GitHub pings a new hook right after answering.
      setImmediate(() => void ping(repo, hook));
      return new HttpReply(201, hookJson(repo, hook), { location: `${repo.url}/hooks/${hook.id}` });
    }
    const hook = list.find((h) => String(h.id) === rest[0]);
    if (!hook) return notFound();
    if (rest.length === 1 && method === 'GET') return new HttpReply(200, hookJson(repo, hook));
    if (rest.length === 1 && method === 'PATCH') {
      const before = structuredClone(hook);
      apply(hook);
      const invalid = invalidHook(key, hook);
      if (invalid) {
        Object.assign(hook, before);
        return invalid;
      }
      return new HttpReply(200, hookJson(repo, hook));
    }
    if (rest.length === 1 && method === 'DELETE') {
      list.splice(list.indexOf(hook), 1);
      return new HttpReply(204);
    }
    if (rest.length === 2 && rest[1] === 'pings' && method === 'POST') {
      setImmediate(() => void ping(repo, hook));
      return new HttpReply(204);
    }
    return notFound();
  }

  function ping(repo: FakeRepo, hook: FakeHook): Promise<void> {
    return deliverTo(hook, 'ping', { zen: 'Keep it logically awesome.', hook_id: hook.id, hook: hookJson(repo, hook), repository: publicRepo(repo), sender: accountJson(viewer()) });
  }

  /** One delivery as GitHub makes it: signed over the exact body, JSON or `payload=` form. */
  async function deliverTo(hook: FakeHook, event: string, payload: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(payload);
    const form = hook.config.content_type === 'form';
    const body = form ? `payload=${encodeURIComponent(json)}` : json;
    const headers: Record<string, string> = {
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json', 'user-agent': 'GitHub-Hookshot/044aadd',
      'x-github-event': event, 'x-github-delivery': randomUUID(), 'x-github-hook-id': String(hook.id), 'x-github-hook-installation-target-type': 'repository',
    };
    if (hook.config.secret) {
      headers['x-hub-signature'] = `sha1=${createHmac('sha1', hook.config.secret).update(body).digest('hex')}`;
      headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', hook.config.secret).update(body).digest('hex')}`;
    }
    try {
      const answer = await fetch(hook.config.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      await answer.arrayBuffer();
      const ok = answer.status >= 200 && answer.status < 300;
      hook.last_response = { code: answer.status, status: 'active', message: ok ? 'OK' : `Invalid HTTP Response: ${answer.status}` };
    } catch {
      hook.last_response = { code: 0, status: 'active', message: 'failed to connect to host' };
    }
  }

  // --- Issues ----------------------------------------------------------------------------------

  const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

  function newIssue(key: string, title: string, text: string, labelNames: string[], createdAt = nowIso()): FakeIssue {
    const repo = repos.get(key);
    if (!repo) throw new Error(`fake-github: no repo ${key}`);
    const id = newId();
    const number = issues.filter((i) => i.repo === key).length + 1;
    const issue: FakeIssue = {
      id, node_id: `I_kwDO${id.toString(36).toUpperCase()}`, repo: key, number, title, body: text, state: 'open', labels: [], comments: [], labelEvents: [],
      created_at: createdAt, html_url: `${repo.html_url}/issues/${number}`,
    };
    issues.push(issue);
    for (const name of labelNames) addIssueLabel(issue, name, createdAt);
    return issue;
  }

  /** As on GitHub, adding a label the repo does not have creates it. */
  function addIssueLabel(issue: FakeIssue, name: string, at = nowIso()): void {
    const repoLabels = labels.get(issue.repo)!;
    if (!repoLabels.some((l) => l.name === name)) repoLabels.push(labelJson(repos.get(issue.repo)!, name, 'ededed', null));
    if (issue.labels.includes(name)) return;
    issue.labels.push(name);
    issue.labelEvents.push({ label: name, created_at: at });
  }

  function addIssueComment(issue: FakeIssue, text: string, at = nowIso()): FakeComment {
    const id = newId();
    const comment: FakeComment = { id, node_id: `IC_kwDO${id.toString(36).toUpperCase()}`, author: login, body: text, created_at: at, html_url: `${issue.html_url}#issuecomment-${id}` };
    issue.comments.push(comment);
    return comment;
  }

  function issueJson(issue: FakeIssue): Record<string, unknown> {
    const repo = repos.get(issue.repo)!;
    return {
      id: issue.id, node_id: issue.node_id, number: issue.number, title: issue.title, body: issue.body, state: issue.state,
      url: `${repo.url}/issues/${issue.number}`, html_url: issue.html_url, comments: issue.comments.length,
      labels: issue.labels.map((n) => labels.get(issue.repo)!.find((l) => l.name === n)), user: accountJson(viewer()),
      created_at: issue.created_at, updated_at: issue.comments.at(-1)?.created_at ?? issue.created_at,
    };
  }

  function commentJson(comment: FakeComment): Record<string, unknown> {
    return { id: comment.id, node_id: comment.node_id, body: comment.body, html_url: comment.html_url, user: accountJson(viewer()), created_at: comment.created_at, updated_at: comment.created_at };
  }

  /**
   * A repository's events, newest first, paged as GitHub does: `per_page` (default 30, at most
   * 100), and `Link` URLs by repository id (`/repositories/{id}/events?per_page=&page=`), which a
   * client must follow as given.
   */
  function listEvents(key: string, repoExists: boolean, req: FakeRequest): HttpReply {
    const timeline = events.filter((e) => e.repo.name.toLowerCase() === key);
    if (!repoExists && timeline.length === 0) return notFound();
    const etag = eventsEtag(key, req.query);
    const headers: Record<string, string> = { etag, 'x-poll-interval': '60', 'cache-control': 'private, max-age=60, s-maxage=60' };
    const ifNoneMatch = req.headers['if-none-match'];
    if (typeof ifNoneMatch === 'string' && ifNoneMatch.replace(/^W\//, '') === etag.replace(/^W\//, '')) return new HttpReply(304, undefined, headers);
    const repo = repos.get(key);
    const prefix = req.path.startsWith('/api/v3/') ? '/api/v3' : '';
    const { page, link } = paginate(req.query, repo ? `${prefix}/repositories/${repo.id}/events` : req.path, timeline);
    return new HttpReply(200, page, link ? { ...headers, link } : headers);
  }

  // --- GraphQL ---------------------------------------------------------------------------------

  const viewer = () => accounts.get(login.toLowerCase())!;
  const canAdmin = (owner: FakeAccount) => owner.login === viewer().login || (opts.orgs ?? []).some((o) => o.toLowerCase() === owner.login.toLowerCase());
  const optionId = () => randomBytes(4).toString('hex');

  /** A new board of `owner`, with the fields GitHub gives every new board. */
  function makeBoard(owner: FakeAccount, title: string): FakeBoard {
    const number = Math.max(0, ...boards.filter((b) => b.owner === owner.login).map((b) => b.number)) + 1;
    const id = newId();
    const tag = id.toString(36).toUpperCase();
    const common = (name: string, dataType: string, n: number): FakeField => ({ id: `PVTF_lADO${tag}zg${n}`, name, dataType });
    const board: FakeBoard = {
      id: `PVT_kwDO${tag}`, number, title, owner: owner.login, closed: false,
      url: `https://github.com/${owner.type === 'User' ? 'users' : 'orgs'}/${owner.login}/projects/${number}`,
      fields: [
        common('Title', 'TITLE', 1), common('Assignees', 'ASSIGNEES', 2),
        { id: `PVTSSF_lADO${tag}zg3`, name: 'Status', dataType: 'SINGLE_SELECT', options: [
          { id: optionId(), name: 'Todo', color: 'GREEN', description: "This item hasn't been started" },
          { id: optionId(), name: 'In Progress', color: 'YELLOW', description: 'This is actively being worked on' },
          { id: optionId(), name: 'Done', color: 'PURPLE', description: 'This has been completed' },
        ] },
        common('Labels', 'LABELS', 4), common('Linked pull requests', 'LINKED_PULL_REQUESTS', 5), common('Milestone', 'MILESTONE', 6),
        common('Repository', 'REPOSITORY', 7), common('Reviewers', 'REVIEWERS', 8),
      ],
      items: [],
    };
    boards.push(board);
    return board;
  }

  function checkOptions(raw: unknown): FakeOption[] | string {
    if (!Array.isArray(raw) || raw.length === 0) return 'singleSelectOptions must not be empty';
    const out: FakeOption[] = [];
    for (const o of raw as Record<string, unknown>[]) {
      if (typeof o?.name !== 'string' || !o.name) return 'Option name cannot be blank';
      if (typeof o.color !== 'string' || !OPTION_COLORS.has(o.color)) return `Variable $options of type [ProjectV2SingleSelectFieldOptionInput!] was provided invalid value for color (Expected "${String(o.color)}" to be one of: ${[...OPTION_COLORS].join(', ')})`;
      if (typeof o.description !== 'string') return 'Variable $options was provided invalid value for description (Expected value to not be null)';
      if (out.some((p) => p.name === o.name)) return `Options must have unique names: ${o.name}`;
      out.push({ id: optionId(), name: o.name, color: o.color, description: o.description });
    }
    return out;
  }

  const statusField = (b: FakeBoard) => b.fields.find((f) => f.name === 'Status' && f.dataType === 'SINGLE_SELECT');
  const statusName = (b: FakeBoard, item: FakeItem) => statusField(b)?.options?.find((o) => o.id === item.status)?.name ?? null;
  const findIssue = (nodeId: unknown) => issues.find((i) => i.node_id === nodeId);
  const noNode = (id: unknown): never => graphqlFailure('NOT_FOUND', `Could not resolve to a node with the global id of '${String(id)}'`);
  const cursorOf = (offset: number) => Buffer.from(String(offset)).toString('base64');

  /** A connection over `list`, paged as GitHub pages: `first`/`after` (at most 100), or the `last` ones. */
  function connection<T>(list: T[], args: Record<string, unknown>): Record<string, unknown> {
    if (args.last !== undefined && args.last !== null) {
      const count = Math.min(Math.max(Number(args.last) || 0, 0), 100);
      return { totalCount: list.length, nodes: list.slice(Math.max(list.length - count, 0)), pageInfo: { hasNextPage: false, endCursor: list.length ? cursorOf(list.length) : null } };
    }
    const count = Math.min(Math.max(Number(args.first) || 0, 1), 100);
    const start = typeof args.after === 'string' ? Number(Buffer.from(args.after, 'base64').toString()) : 0;
    const nodes = list.slice(start, start + count);
    const end = start + nodes.length;
    return { totalCount: list.length, nodes, pageInfo: { hasNextPage: end < list.length, endCursor: nodes.length ? cursorOf(end) : null } };
  }

  // --- GraphQL: GitHub's graph, as far as bm reads it; fake-graphql.ts answers every query from it --

  function ownerGraph(account: FakeAccount): Record<string, unknown> {
    return {
      __typename: account.type, __implements: ['Node', 'Actor', 'RepositoryOwner', 'ProjectV2Owner'], id: account.node_id, login: account.login,
      projectsV2: (args: Record<string, unknown>) => connection(boards.filter((b) => b.owner.toLowerCase() === account.login.toLowerCase()).map(boardGraph), args),
    };
  }

  function fieldGraph(f: FakeField): Record<string, unknown> {
    const single = f.dataType === 'SINGLE_SELECT';
    return {
      __typename: single ? 'ProjectV2SingleSelectField' : 'ProjectV2Field', __implements: ['Node', 'ProjectV2FieldCommon', 'ProjectV2FieldConfiguration'],
      id: f.id, name: f.name, dataType: f.dataType,
      ...(single ? { options: (f.options ?? []).map((o) => ({ __typename: 'ProjectV2SingleSelectFieldOption', ...o })) } : {}),
    };
  }

  function statusValue(board: FakeBoard, it: FakeItem, name: unknown): Record<string, unknown> | null {
    const fieldDef = board.fields.find((f) => f.name === name);
    if (!fieldDef || fieldDef.dataType !== 'SINGLE_SELECT' || !it.status) return null;
    const option = fieldDef.options?.find((o) => o.id === it.status);
    return option ? { __typename: 'ProjectV2ItemFieldSingleSelectValue', name: option.name, optionId: option.id, field: fieldGraph(fieldDef) } : null;
  }

  function itemGraph(board: FakeBoard, it: FakeItem): Record<string, unknown> {
    return {
      __typename: 'ProjectV2Item', __implements: ['Node'], id: it.id, updatedAt: it.updatedAt ?? it.issue.created_at, isArchived: false, type: 'ISSUE',
      content: issueGraph(it.issue), project: boardGraph(board),
      fieldValueByName: ({ name }: { name?: unknown }) => statusValue(board, it, name),
    };
  }

  function boardGraph(board: FakeBoard): Record<string, unknown> {
    return {
      __typename: 'ProjectV2', __implements: ['Node'], id: board.id, title: board.title, number: board.number, url: board.url, closed: board.closed,
      owner: () => ownerGraph(accounts.get(board.owner.toLowerCase())!),
      fields: (args: Record<string, unknown>) => connection(board.fields.map(fieldGraph), args),
      field: ({ name }: { name?: unknown }) => {
        const found = board.fields.find((f) => f.name === name);
        return found ? fieldGraph(found) : null;
      },
      items: (args: Record<string, unknown>) => connection(board.items.map((it) => itemGraph(board, it)), args),
    };
  }

  function repoGraph(repo: FakeRepo): Record<string, unknown> {
    const key = repo.full_name.toLowerCase();
    return {
      __typename: 'Repository', __implements: ['Node'], id: repo.node_id, name: repo.name, nameWithOwner: repo.full_name, url: repo.html_url,
      issue: ({ number }: { number?: unknown }) => {
        const issue = issues.find((i) => i.repo === key && i.number === number);
        return issue ? issueGraph(issue) : graphqlFailure('NOT_FOUND', `Could not resolve to an Issue with the number of ${String(number)}.`);
      },
    };
  }

  function issueGraph(issue: FakeIssue): Record<string, unknown> {
    const repoLabels = labels.get(issue.repo)!;
    return {
      __typename: 'Issue', __implements: ['Node', 'Labelable', 'Comment', 'Closable'], id: issue.node_id, number: issue.number, title: issue.title, body: issue.body,
      url: issue.html_url, createdAt: issue.created_at, state: issue.state.toUpperCase(), repository: () => repoGraph(repos.get(issue.repo)!),
      labels: (args: Record<string, unknown>) => connection(issue.labels.map((n) => ({ __typename: 'Label', id: repoLabels.find((l) => l.name === n)?.node_id, name: n })), args),
      projectItems: (args: Record<string, unknown>) => connection(boards.flatMap((b) => b.items.filter((it) => it.issue === issue).map((it) => itemGraph(b, it))), args),
      comments: (args: Record<string, unknown>) => connection(issue.comments.map((c) => ({
        __typename: 'IssueComment', id: c.node_id, author: { __typename: 'User', login: c.author }, body: c.body, createdAt: c.created_at, url: c.html_url,
      })), args),
      timelineItems: (args: { itemTypes?: unknown } & Record<string, unknown>) => {
        const types = Array.isArray(args.itemTypes) ? args.itemTypes : ['LABELED_EVENT'];
        const labeled = types.includes('LABELED_EVENT') ? issue.labelEvents.map((e) => ({ __typename: 'LabeledEvent', createdAt: e.created_at, label: { __typename: 'Label', name: e.label } })) : [];
        return connection(labeled, args);
      },
    };
  }

  /** GitHub's issue search, for the qualifiers bm sends: repo:, is:issue, is:open and label:. */
  function searchIssues(text: string): FakeIssue[] | string {
    const terms = text.match(/\S+:"[^"]*"|\S+/g) ?? [];
    let found = [...issues];
    for (const term of terms) {
      const [, key, raw] = /^([a-z-]+):(.*)$/.exec(term) ?? [];
      const value = raw?.replace(/^"|"$/g, '');
      if (key === 'repo') found = found.filter((i) => i.repo === value?.toLowerCase());
      else if (key === 'is' && value === 'issue') continue;
      else if (key === 'is' && (value === 'open' || value === 'closed')) found = found.filter((i) => i.state === value);
      else if (key === 'label') found = found.filter((i) => i.labels.includes(value ?? ''));
      else return `fake-github: unsupported search term '${term}'`;
    }
    // GitHub sorts by best match; for a filter-only query that is newest first.
    return found.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.number - a.number);
  }

  const queryRoot: Record<string, unknown> = {
    __typename: 'Query',
    viewer: () => ownerGraph(viewer()),
    // GitHub answers an unknown login with null, not an error.
    repositoryOwner: ({ login: name }: { login?: unknown }) => {
      const account = accounts.get(String(name).toLowerCase());
      return account ? ownerGraph(account) : null;
    },
    repository: ({ owner, name }: { owner?: unknown; name?: unknown }) => {
      const repo = repos.get(`${String(owner)}/${String(name)}`.toLowerCase());
      return repo ? repoGraph(repo) : graphqlFailure('NOT_FOUND', `Could not resolve to a Repository with the name '${String(owner)}/${String(name)}'.`);
    },
    node: ({ id }: { id?: unknown }) => {
      const board = boards.find((b) => b.id === id);
      if (board) return boardGraph(board);
      const issue = findIssue(id);
      if (issue) return issueGraph(issue);
      const account = [...accounts.values()].find((a) => a.node_id === id);
      return account ? ownerGraph(account) : noNode(id);
    },
    search: ({ query: text, type, ...args }: { query?: unknown; type?: unknown } & Record<string, unknown>) => {
      if (type !== 'ISSUE') graphqlFailure('INVALID_SEARCH', `fake-github: search type ${String(type)} is not served`);
      const found = searchIssues(String(text ?? ''));
      if (typeof found === 'string') graphqlFailure('INVALID_SEARCH', found);
      return connection(found.map(issueGraph), args);
    },
  };

  const mutationRoot: Record<string, unknown> = {
    __typename: 'Mutation',
    createProjectV2: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'CreateProjectV2Input', ['ownerId', 'title', 'repositoryId', 'teamId', 'clientMutationId']);
      const owner = [...accounts.values()].find((a) => a.node_id === input.ownerId) ?? noNode(input.ownerId);
      if (!canAdmin(owner)) graphqlFailure('FORBIDDEN', `${viewer().login} does not have permission to create projects on ${owner.login}`);
      if (typeof input.title !== 'string' || !input.title) graphqlFailure('UNPROCESSABLE', "Title can't be blank");
      return { __typename: 'CreateProjectV2Payload', clientMutationId: null, projectV2: boardGraph(makeBoard(owner, input.title)) };
    },
    updateProjectV2Field: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'UpdateProjectV2FieldInput', ['fieldId', 'name', 'singleSelectOptions', 'iterationConfiguration', 'clientMutationId']);
      const field = boards.flatMap((b) => b.fields).find((f) => f.id === input.fieldId) ?? noNode(input.fieldId);
      if (field.dataType !== 'SINGLE_SELECT') graphqlFailure('UNPROCESSABLE', 'Field is not a single select field');
      const options = checkOptions(input.singleSelectOptions);
      if (typeof options === 'string') graphqlFailure('UNPROCESSABLE', options);
      field.options = options;
      if (typeof input.name === 'string' && input.name) field.name = input.name;
      return { __typename: 'UpdateProjectV2FieldPayload', clientMutationId: null, projectV2Field: fieldGraph(field) };
    },
    createProjectV2Field: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'CreateProjectV2FieldInput', ['projectId', 'dataType', 'name', 'singleSelectOptions', 'iterationConfiguration', 'clientMutationId']);
      const board = boards.find((b) => b.id === input.projectId) ?? noNode(input.projectId);
      if (input.dataType !== 'SINGLE_SELECT') graphqlFailure('UNPROCESSABLE', `fake-github: only SINGLE_SELECT fields are served, not ${String(input.dataType)}`);
      if (typeof input.name !== 'string' || !input.name) graphqlFailure('UNPROCESSABLE', "Name can't be blank");
      if (board.fields.some((f) => f.name === input.name)) graphqlFailure('UNPROCESSABLE', 'Name has already been taken');
      const options = checkOptions(input.singleSelectOptions);
      if (typeof options === 'string') graphqlFailure('UNPROCESSABLE', options);
      const field: FakeField = { id: `PVTSSF_lADO${newId().toString(36).toUpperCase()}`, name: input.name, dataType: 'SINGLE_SELECT', options };
      board.fields.push(field);
      return { __typename: 'CreateProjectV2FieldPayload', clientMutationId: null, projectV2Field: fieldGraph(field) };
    },
    addComment: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'AddCommentInput', ['subjectId', 'body', 'clientMutationId']);
      const issue = findIssue(input.subjectId) ?? noNode(input.subjectId);
      if (typeof input.body !== 'string' || !input.body.trim()) graphqlFailure('UNPROCESSABLE', 'Body cannot be blank');
      const comment = addIssueComment(issue, input.body);
      return { __typename: 'AddCommentPayload', clientMutationId: null, commentEdge: { node: { __typename: 'IssueComment', id: comment.node_id, url: comment.html_url, body: comment.body } } };
    },
    removeLabelsFromLabelable: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'RemoveLabelsFromLabelableInput', ['labelableId', 'labelIds', 'clientMutationId']);
      const issue = findIssue(input.labelableId) ?? noNode(input.labelableId);
      const ids = Array.isArray(input.labelIds) ? input.labelIds : [];
      const names = labels.get(issue.repo)!.filter((l) => ids.includes(l.node_id)).map((l) => l.name);
      if (names.length !== ids.length) graphqlFailure('NOT_FOUND', 'Could not resolve to a Label');
      issue.labels = issue.labels.filter((n) => !names.includes(n));
      return { __typename: 'RemoveLabelsFromLabelablePayload', clientMutationId: null, labelable: issueGraph(issue) };
    },
    updateProjectV2ItemFieldValue: (args: Record<string, unknown>) => {
      const input = inputOf(args, 'UpdateProjectV2ItemFieldValueInput', ['projectId', 'itemId', 'fieldId', 'value', 'clientMutationId']);
      const board = boards.find((b) => b.id === input.projectId) ?? noNode(input.projectId);
      const item = board.items.find((i) => i.id === input.itemId) ?? noNode(input.itemId);
      const fieldDef = board.fields.find((f) => f.id === input.fieldId) ?? noNode(input.fieldId);
      const value = (input.value && typeof input.value === 'object' ? input.value : {}) as Record<string, unknown>;
      if (!fieldDef.options?.some((o) => o.id === value.singleSelectOptionId)) graphqlFailure('UNPROCESSABLE', 'The single select option Id does not belong to the field');
      item.status = String(value.singleSelectOptionId);
      item.updatedAt = new Date().toISOString();
      return { __typename: 'UpdateProjectV2ItemFieldValuePayload', clientMutationId: null, projectV2Item: itemGraph(board, item) };
    },
  };

  function graphql(req: FakeRequest): HttpReply {
    const body = (req.body ?? {}) as { query?: unknown; operationName?: unknown; variables?: unknown };
    if (typeof body.query !== 'string') return new HttpReply(200, { errors: [{ message: 'A query attribute must be specified and must be a string.' }] });
    const variables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
    const name = typeof body.operationName === 'string' && body.operationName ? body.operationName : undefined;
    return new HttpReply(200, answerQuery(body.query, variables, { query: queryRoot, mutation: mutationRoot }, name));
  }

  // --- HTTP plumbing ---------------------------------------------------------------------------

  async function handle(req: IncomingMessage): Promise<HttpReply> {
    const parsed = new URL(req.url ?? '/', 'http://fake');
    // Serve GitHub Enterprise's layout too: REST under /api/v3, GraphQL at /api/graphql.
    const path = parsed.pathname;
    const route = path.replace(/^\/api\/v3(?=\/)/, '').replace(/^\/api\/graphql$/, '/graphql');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    let badJson = false;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      badJson = true;
      body = raw;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const record: FakeRequest = { method, path, query: Object.fromEntries(parsed.searchParams), headers: { ...req.headers }, body };
    requests.push(record);

    const failure = failures.findIndex((f) => (f.method === '*' || f.method === method) && f.path.test(path));
    if (failure >= 0) return failures.splice(failure, 1)[0].reply;

    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    // Without a token GitHub still serves public reads, but not /user, GraphQL or any write.
    const needsAuth = route === '/user' || route === '/graphql' || method !== 'GET';
    if ((opts.token && auth !== opts.token) || (!auth && needsAuth)) {
      const message = auth ? 'Bad credentials' : 'Requires authentication';
      return new HttpReply(401, { message, documentation_url: route === '/graphql' ? 'https://docs.github.com/graphql' : DOCS, status: '401' });
    }
    if (badJson) return new HttpReply(400, errorBody(400, 'Problems parsing JSON'));
    if (method === 'POST' && route === '/graphql') return graphql(record);

    const now = Math.floor(Date.now() / 1000);
    if (now >= rateLimit.reset) Object.assign(rateLimit, { remaining: rateLimit.limit, reset: now + 3600 });
    if (rateLimit.remaining <= 0) {
      return new HttpReply(403, errorBody(403, `API rate limit exceeded for user ID ${viewer().id}.`, {
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      }));
    }
    const segs = route.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const reply = await rest(method, segs, record);
    // A conditional request answered with 304 is free, as on GitHub.
    if (reply.status !== 304) rateLimit.remaining--;
    return reply;
  }

  function send(res: ServerResponse, reply: HttpReply, restCall: boolean): void {
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-oauth-scopes': (opts.scopes ?? ['repo', 'project', 'read:org']).join(', '),
    };
    if (restCall) {
      Object.assign(headers, {
        'x-ratelimit-limit': String(rateLimit.limit), 'x-ratelimit-remaining': String(Math.max(rateLimit.remaining, 0)),
        'x-ratelimit-reset': String(rateLimit.reset), 'x-ratelimit-used': String(rateLimit.limit - Math.max(rateLimit.remaining, 0)),
        'x-ratelimit-resource': 'core',
      });
    }
    Object.assign(headers, reply.headers);
    const noBody = reply.status === 304 || reply.status === 204 || reply.body === undefined;
    if (!noBody) headers['content-type'] = 'application/json; charset=utf-8';
    res.writeHead(reply.status, headers);
    res.end(noBody ? undefined : JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => {
    const restCall = !/^\/(?:api\/)?graphql/.test(req.url ?? '');
    handle(req).then(
      (reply) => send(res, reply, restCall),
      (error: unknown) => send(res, new HttpReply(500, errorBody(500, `fake-github: ${error instanceof Error ? error.message : String(error)}`)), restCall),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url, requests, repos, labels, boards, events, rateLimit, dataDir, hooks,
    async deliver(repoName, event, payload) {
      const key = repoName.toLowerCase();
      await Promise.all((hooks.get(key) ?? []).filter((h) => h.active && (h.events.includes(event) || h.events.includes('*'))).map((h) => deliverTo(h, event, payload)));
    },
    failNext(method, pathRegex, status, body, headers = {}) {
      failures.push({ method: method.toUpperCase(), path: pathRegex, reply: new HttpReply(status, status === 304 ? undefined : body ?? errorBody(status), headers) });
    },
    pushEvent(type, payload = {}, repoName, actorLogin = 'monalisa') {
      const key = (repoName ?? lastRepo)?.toLowerCase();
      if (!key) throw new Error('fake-github: pushEvent needs a repo (none created yet)');
      const repo = repos.get(key);
      const known = accounts.get(actorLogin.toLowerCase());
      const actor = known ?? { login: actorLogin, id: 583231 };
      const event: FakeEvent = {
        id: String(++nextEventId), type,
        actor: { id: actor.id, login: actor.login, display_login: actor.login, gravatar_id: '', url: `${url}/users/${actor.login}`, avatar_url: `https://avatars.githubusercontent.com/u/${actor.id}?` },
        repo: { id: repo?.id ?? 0, name: repo?.full_name ?? repoName ?? key, url: `${url}/repos/${repo?.full_name ?? key}` },
        payload, public: repo ? !repo.private : false, created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      events.unshift(event);
      // GitHub keeps at most 300 events per timeline.
      const mine = events.filter((e) => e.repo.name.toLowerCase() === key);
      if (mine.length > 300) events.splice(events.indexOf(mine[300]), 1);
      return event;
    },
    async addRepo(fullName, options = {}) {
      const [ownerLogin, name] = fullName.split('/');
      if (!accounts.has(ownerLogin.toLowerCase())) addAccount(ownerLogin, 'User');
      return createRepo(accounts.get(ownerLogin.toLowerCase())!, name, options.private ?? true, options.description ?? null);
    },
    issues,
    addIssue(options) {
      const key = (options.repo ?? lastRepo)?.toLowerCase();
      if (!key) throw new Error('fake-github: addIssue needs a repo (none created yet)');
      const issue = newIssue(key, options.title, options.body ?? '', options.labels ?? [], options.createdAt);
      if (options.board) {
        const board = boards.find((b) => b.title === options.board);
        if (!board) throw new Error(`fake-github: no board '${options.board}'`);
        const option = options.status === undefined ? undefined : statusField(board)?.options?.find((o) => o.name === options.status);
        if (options.status !== undefined && !option) throw new Error(`fake-github: board '${board.title}' has no status '${options.status}'`);
        board.items.push({ id: `PVTI_lADO${newId().toString(36).toUpperCase()}`, issue, status: option?.id ?? null, updatedAt: new Date().toISOString() });
      }
      return issue;
    },
    addComment(issue, text, createdAt) {
      return addIssueComment(issue, text, createdAt);
    },
    statusOf(issue, boardTitle) {
      const board = boards.find((b) => b.title === boardTitle);
      const item = board?.items.find((i) => i.issue === issue);
      return board && item ? statusName(board, item) : null;
    },
    moveItem(issue, boardTitle, status) {
      const board = boards.find((b) => b.title === boardTitle);
      const item = board?.items.find((i) => i.issue === issue);
      const option = board && statusField(board)?.options?.find((o) => o.name === status);
      if (!board || !item || !option) throw new Error(`fake-github: cannot move the item to '${status}' on '${boardTitle}'`);
      item.status = option.id;
      item.updatedAt = new Date().toISOString();
    },
    addBoard(owner, title) {
      const account = accounts.get(owner.toLowerCase());
      if (!account) throw new Error(`fake-github: no account ${owner}`);
      return makeBoard(account, title);
    },
    async close() {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
