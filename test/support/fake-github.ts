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
import { answerQuery, graphqlFailure } from './fake-graphql.ts';

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

/** Answers one GraphQL operation: return `{data}` or `{errors}`. */
export type GraphQLHandler = (variables: Record<string, unknown>) => unknown;

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
  /** Serves (or overrides) a GraphQL operation by name. */
  onGraphQL(operation: string, handler: GraphQLHandler): void;
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

function graphqlError(type: string, message: string, path: string[] = []) {
  return { type, path, locations: [{ line: 2, column: 3 }], message };
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
  const graphqlHandlers = new Map<string, GraphQLHandler>();
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
  const findAccountById = (id: unknown) => [...accounts.values()].find((a) => a.node_id === id);
  const findField = (id: unknown) => {
    for (const board of boards) {
      const field = board.fields.find((f) => f.id === id);
      if (field) return field;
    }
    return undefined;
  };
  const fieldJson = (f: FakeField) => ({ id: f.id, name: f.name, dataType: f.dataType, ...(f.options ? { options: f.options.map((o) => ({ ...o })) } : {}) });
  const projectJson = (b: FakeBoard) => ({ id: b.id, number: b.number, title: b.title, url: b.url });
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

  const builtin: Record<string, GraphQLHandler> = {
    BmOwner: (v) => {
      const account = accounts.get(String(v.login).toLowerCase());
      return { data: { repositoryOwner: account ? { __typename: account.type, id: account.node_id, login: account.login } : null } };
    },
    BmBoards: (v) => {
      const account = accounts.get(String(v.login).toLowerCase());
      if (!account) return { data: { repositoryOwner: null } };
      const mine = boards.filter((b) => b.owner.toLowerCase() === account.login.toLowerCase());
      const first = Math.min(Number(v.first) || 100, 100);
      const start = typeof v.cursor === 'string' ? Number(Buffer.from(v.cursor, 'base64').toString()) : 0;
      const nodes = mine.slice(start, start + first);
      const end = start + nodes.length;
      return { data: { repositoryOwner: { projectsV2: {
        nodes: nodes.map(projectJson),
        pageInfo: { hasNextPage: end < mine.length, endCursor: nodes.length ? Buffer.from(String(end)).toString('base64') : null },
      } } } };
    },
    BmCreateBoard: (v) => {
      const owner = findAccountById(v.ownerId);
      if (!owner) return { data: { createProjectV2: null }, errors: [graphqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.ownerId)}'`, ['createProjectV2'])] };
      if (!canAdmin(owner)) return { data: { createProjectV2: null }, errors: [graphqlError('FORBIDDEN', `${viewer().login} does not have permission to create projects on ${owner.login}`, ['createProjectV2'])] };
      if (typeof v.title !== 'string' || !v.title) return { data: { createProjectV2: null }, errors: [graphqlError('UNPROCESSABLE', 'Title can\'t be blank', ['createProjectV2'])] };
      const board = makeBoard(owner, v.title);
      return { data: { createProjectV2: { projectV2: projectJson(board) } } };
    },
    BmBoardFields: (v) => {
      const board = boards.find((b) => b.id === v.projectId);
      if (!board) return { data: { node: null }, errors: [graphqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.projectId)}'`, ['node'])] };
      return { data: { node: { fields: { nodes: board.fields.map(fieldJson) } } } };
    },
    BmSetStatusOptions: (v) => {
      const field = findField(v.fieldId);
      if (!field) return { data: { updateProjectV2Field: null }, errors: [graphqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.fieldId)}'`, ['updateProjectV2Field'])] };
      if (field.dataType !== 'SINGLE_SELECT') return { data: { updateProjectV2Field: null }, errors: [graphqlError('UNPROCESSABLE', 'Field is not a single select field', ['updateProjectV2Field'])] };
      const options = checkOptions(v.options);
      if (typeof options === 'string') return { errors: [graphqlError('UNPROCESSABLE', options, ['updateProjectV2Field'])] };
      field.options = options;
      return { data: { updateProjectV2Field: { projectV2Field: fieldJson(field) } } };
    },
    BmCreateStatusField: (v) => {
      const board = boards.find((b) => b.id === v.projectId);
      if (!board) return { data: { createProjectV2Field: null }, errors: [graphqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.projectId)}'`, ['createProjectV2Field'])] };
      if (board.fields.some((f) => f.name === 'Status')) return { errors: [graphqlError('UNPROCESSABLE', 'Name has already been taken', ['createProjectV2Field'])] };
      const options = checkOptions(v.options);
      if (typeof options === 'string') return { errors: [graphqlError('UNPROCESSABLE', options, ['createProjectV2Field'])] };
      const field: FakeField = { id: `PVTSSF_lADO${newId().toString(36).toUpperCase()}`, name: 'Status', dataType: 'SINGLE_SELECT', options };
      board.fields.push(field);
      return { data: { createProjectV2Field: { projectV2Field: fieldJson(field) } } };
    },
  };

  // The inbox (lib/inbox.ts): a search by label, one issue, and the mutations that clear an item.
  const statusField = (b: FakeBoard) => b.fields.find((f) => f.name === 'Status' && f.dataType === 'SINGLE_SELECT');
  const statusName = (b: FakeBoard, item: FakeItem) => statusField(b)?.options?.find((o) => o.id === item.status)?.name ?? null;
  const findIssue = (nodeId: unknown) => issues.find((i) => i.node_id === nodeId);
  const gqlError = (type: string, message: string, path: string) => ({ data: { [path]: null }, errors: [graphqlError(type, message, [path])] });

  /** A board as a node of the graph (fake-graphql.ts), for queries over its items. */
  function boardGraph(id: unknown): Record<string, unknown> | null {
    const board = boards.find((b) => b.id === id);
    if (!board) graphqlFailure('NOT_FOUND', `Could not resolve to a node with the global id of '${String(id)}'`);
    const item = (it: FakeItem) => ({
      __typename: 'ProjectV2Item', id: it.id, updatedAt: it.updatedAt ?? it.issue.created_at, isArchived: false, type: 'ISSUE',
      content: { __typename: 'Issue', id: it.issue.node_id, number: it.issue.number, title: it.issue.title, url: it.issue.html_url, repository: { __typename: 'Repository', nameWithOwner: repos.get(it.issue.repo)?.full_name ?? it.issue.repo } },
      fieldValueByName: ({ name }: { name?: unknown }) => {
        const fieldDef = board.fields.find((f) => f.name === name);
        if (!fieldDef || fieldDef.dataType !== 'SINGLE_SELECT' || !it.status) return null;
        const option = fieldDef.options?.find((o) => o.id === it.status);
        return option ? { __typename: 'ProjectV2ItemFieldSingleSelectValue', name: option.name, optionId: option.id } : null;
      },
    });
    return {
      __typename: 'ProjectV2', __implements: ['Node'], id: board.id, title: board.title, number: board.number, url: board.url, closed: board.closed,
      items: ({ first, after }: { first?: unknown; after?: unknown }) => {
        const count = Math.min(Math.max(Number(first) || 0, 1), 100);
        const start = typeof after === 'string' ? Number(Buffer.from(after, 'base64').toString()) : 0;
        const nodes = board.items.slice(start, start + count);
        const end = start + nodes.length;
        return {
          totalCount: board.items.length, nodes: nodes.map(item),
          pageInfo: { hasNextPage: end < board.items.length, endCursor: nodes.length ? Buffer.from(String(end)).toString('base64') : null },
        };
      },
    };
  }

  function issueNode(issue: FakeIssue): Record<string, unknown> {
    const onBoards = boards.flatMap((b) => b.items.filter((it) => it.issue === issue).map((it) => ({ b, it })));
    const repoLabels = labels.get(issue.repo)!;
    return {
      id: issue.node_id, number: issue.number, title: issue.title, url: issue.html_url, createdAt: issue.created_at, state: issue.state.toUpperCase(),
      labels: { nodes: issue.labels.map((n) => ({ id: repoLabels.find((l) => l.name === n)?.node_id, name: n })) },
      projectItems: { nodes: onBoards.map(({ b, it }) => {
        const field = statusField(b);
        const name = statusName(b, it);
        return {
          id: it.id,
          project: { id: b.id, title: b.title, field: field ? { id: field.id, options: (field.options ?? []).map((o) => ({ id: o.id, name: o.name })) } : null },
          fieldValueByName: name === null ? null : { name, optionId: it.status },
        };
      }) },
      comments: { nodes: issue.comments.slice(-30).map((c) => ({ author: { login: c.author }, body: c.body, createdAt: c.created_at, url: c.html_url })) },
      timelineItems: { nodes: issue.labelEvents.slice(-20).map((e) => ({ createdAt: e.created_at, label: { name: e.label } })) },
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

  /** The root fields of a mutation document, in order (GitHub runs them one after the other). */
  const rootFields = (query: string) => [...query.matchAll(/^\s*(\w+)\(input:/gm)].map((m) => m[1]);

  function mutateItem(query: string, v: Record<string, unknown>): unknown {
    const data: Record<string, unknown> = {};
    for (const field of rootFields(query)) {
      if (field === 'addComment') {
        const issue = findIssue(v.issueId);
        if (!issue) return gqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.issueId)}'`, field);
        if (typeof v.body !== 'string' || !v.body.trim()) return gqlError('UNPROCESSABLE', 'Body cannot be blank', field);
        const comment = addIssueComment(issue, v.body);
        data[field] = { commentEdge: { node: { url: comment.html_url } } };
      } else if (field === 'removeLabelsFromLabelable') {
        const issue = findIssue(v.issueId);
        if (!issue) return gqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.issueId)}'`, field);
        const ids = Array.isArray(v.labelIds) ? v.labelIds : [];
        const names = labels.get(issue.repo)!.filter((l) => ids.includes(l.node_id)).map((l) => l.name);
        if (names.length !== ids.length) return gqlError('NOT_FOUND', 'Could not resolve to a Label', field);
        issue.labels = issue.labels.filter((n) => !names.includes(n));
        data[field] = { clientMutationId: null };
      } else if (field === 'updateProjectV2ItemFieldValue') {
        const board = boards.find((b) => b.id === v.projectId);
        const item = board?.items.find((i) => i.id === v.itemId);
        const fieldDef = board?.fields.find((f) => f.id === v.fieldId);
        if (!board || !item || !fieldDef) return gqlError('NOT_FOUND', 'Could not resolve to a node', field);
        if (!fieldDef.options?.some((o) => o.id === v.optionId)) return gqlError('UNPROCESSABLE', `The single select option Id does not belong to the field`, field);
        item.status = String(v.optionId);
        item.updatedAt = new Date().toISOString();
        data[field] = { projectV2Item: { id: item.id } };
      } else {
        return { errors: [graphqlError('undefinedField', `Field '${field}' doesn't exist on type 'Mutation' (fake-github)`)] };
      }
    }
    return { data };
  }

  const inboxHandlers: Record<string, (variables: Record<string, unknown>, query: string) => unknown> = {
    BmInbox: (v) => {
      const found = searchIssues(String(v.search ?? ''));
      if (typeof found === 'string') return { errors: [graphqlError('INVALID_SEARCH', found)] };
      const start = typeof v.cursor === 'string' ? Number(Buffer.from(v.cursor, 'base64').toString()) : 0;
      const nodes = found.slice(start, start + 100);
      const end = start + nodes.length;
      return { data: { viewer: { login: viewer().login }, search: {
        pageInfo: { hasNextPage: end < found.length, endCursor: nodes.length ? Buffer.from(String(end)).toString('base64') : null },
        nodes: nodes.map(issueNode),
      } } };
    },
    BmInboxItem: (v) => {
      const repo = repos.get(`${String(v.owner)}/${String(v.name)}`.toLowerCase());
      if (!repo) return { data: { viewer: { login: viewer().login }, repository: null }, errors: [graphqlError('NOT_FOUND', `Could not resolve to a Repository with the name '${String(v.owner)}/${String(v.name)}'.`, ['repository'])] };
      const issue = issues.find((i) => i.repo === repo.full_name.toLowerCase() && i.number === v.number);
      if (!issue) return { data: { viewer: { login: viewer().login }, repository: { issue: null } }, errors: [graphqlError('NOT_FOUND', `Could not resolve to an Issue with the number of ${String(v.number)}.`, ['repository', 'issue'])] };
      return { data: { viewer: { login: viewer().login }, repository: { issue: issueNode(issue) } } };
    },
    BmBoardItems: (v, query) => answerQuery(query, v, { node: ({ id }: { id?: unknown }) => boardGraph(id) }),
    BmBoardColumns: (v) => {
      const board = boards.find((b) => b.id === v.projectId);
      if (!board) return gqlError('NOT_FOUND', `Could not resolve to a node with the global id of '${String(v.projectId)}'`, 'node');
      const start = typeof v.cursor === 'string' ? Number(Buffer.from(v.cursor, 'base64').toString()) : 0;
      const page = board.items.slice(start, start + 100);
      const end = start + page.length;
      const field = statusField(board);
      return { data: { node: {
        field: field ? { options: (field.options ?? []).map((o) => ({ name: o.name })) } : null,
        items: {
          pageInfo: { hasNextPage: end < board.items.length, endCursor: page.length ? Buffer.from(String(end)).toString('base64') : null },
          nodes: page.map((it) => {
            const name = statusName(board, it);
            return { fieldValueByName: name === null ? null : { name } };
          }),
        },
      } } };
    },
    BmAnswerItem: (v, query) => mutateItem(query, v),
    BmMoveItem: (v, query) => mutateItem(query, v),
    BmSetItemStatus: (v, query) => mutateItem(query, v),
  };

  function graphql(req: FakeRequest): HttpReply {
    const body = (req.body ?? {}) as { query?: unknown; operationName?: unknown; variables?: unknown };
    if (typeof body.query !== 'string') return new HttpReply(200, { errors: [{ message: 'A query attribute must be specified and must be a string.' }] });
    const name = typeof body.operationName === 'string' && body.operationName
      ? body.operationName
      : /^\s*(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? '';
    const variables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
    const inbox = graphqlHandlers.has(name) ? undefined : inboxHandlers[name];
    if (inbox) return new HttpReply(200, inbox(variables, body.query));
    const handler = graphqlHandlers.get(name) ?? builtin[name];
    if (!handler) return new HttpReply(200, { errors: [{ message: `fake-github: unsupported GraphQL operation '${name || '(anonymous)'}'` }] });
    return new HttpReply(200, handler(variables));
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
    onGraphQL(operation, handler) {
      graphqlHandlers.set(operation, handler);
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
