/**
 * bm's only door to GitHub: one Octokit factory plus the few idempotent operations `bm init` and
 * the daemon need (repository, labels, Projects v2 board, repository events).
 *
 * Every failure leaves here as a `GitHubError` (a `BmError`) that says what went wrong and how to
 * fix it, with the token masked. `@octokit/rest` is imported lazily: most commands never talk to
 * GitHub and should not pay for loading it. GraphQL goes through node:http(s) itself (one POST, shaped
 * as Octokit shapes answers and failures, so both map to the same errors): a client made for
 * GraphQL alone (`createGitHub({ rest: false })`, e.g. `bm inbox`) never loads Octokit.
 */
import type { Octokit } from '@octokit/rest';
import { BmError, redact } from './output.ts';
import { isGitHubLogin } from './names.ts';

/** The public GitHub REST API; override with `BM_GITHUB_API_URL` (GitHub Enterprise, tests). */
export const DEFAULT_API_URL = 'https://api.github.com';

const DEFAULT_TIMEOUT_MS = 30_000;
const TOKEN_HINT = 'Create a token with the `repo` and `project` scopes, export it as GH_TOKEN and re-run `bm init`';
const SCOPE_HINT =
  'Give the token the `repo` and `project` scopes (plus `read:org` for an organisation), export it as GH_TOKEN and re-run `bm init`';

/** A connected GitHub client. Build it with `createGitHub`. */
export class GitHub {
  /** REST base URL without a trailing slash. */
  readonly baseUrl: string;
  /** Where GraphQL requests go (`<base>/graphql`, or `<host>/api/graphql` on GitHub Enterprise). */
  readonly graphqlUrl: string;
  readonly #octokit: Octokit | null;
  // Private so that logging or JSON-dumping the client can never print the token.
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(octokit: Octokit | null, baseUrl: string, token: string, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.#octokit = octokit;
    this.baseUrl = baseUrl;
    this.graphqlUrl = graphqlUrlFor(baseUrl);
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  /** The underlying Octokit, for REST calls; absent on a client made with `rest: false`. */
  get octokit(): Octokit {
    if (!this.#octokit) throw new Error('this GitHub client was made for GraphQL only: create it with rest: true');
    return this.#octokit;
  }

  /**
   * POSTs a GraphQL payload; resolves to the answer's headers and body, and fails the way Octokit
   * does (an error with `status`, plus `response` when GitHub answered), for `toGitHubError`.
   */
  async postGraphQL(payload: unknown): Promise<{ headers: Record<string, string>; data: unknown }> {
    const url = new URL(this.graphqlUrl);
    const body = Buffer.from(JSON.stringify(payload));
    // @speed-only-begin: node:http(s) as Node's own object: fetch, and import() of node:http (its lazy exports), load undici, a third of `bm inbox`.
    const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    // @speed-only-end
    const answer = await new Promise<{ status: number; headers: Record<string, string>; text: string }>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: { authorization: `token ${this.#token}`, accept: 'application/vnd.github+json', 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'user-agent': 'bm' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')])),
          text: Buffer.concat(chunks).toString('utf8'),
        }));
      });
      req.setTimeout(this.#timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
      req.on('error', (error) => reject(Object.assign(new Error(`cannot reach ${url.host}`), { status: 500, cause: error })));
      req.end(body);
    });
    const { status, headers, text } = answer;
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): kept as text for the message.
    }
    if (status < 200 || status > 299) throw Object.assign(new Error(`HTTP ${status}`), { status, response: { headers, data } });
    return { headers, data };
  }

  /** Masks this client's token (and any other GitHub token or URL credential) in text. */
  redact(text: string): string {
    return redact(text, [this.#token]);
  }
}

/** A GitHub failure the operator can act on; `status` is the HTTP status, 0 when GitHub was unreachable. */
export class GitHubError extends BmError {
  readonly status: number;
  /** When the rate limit resets (ISO time), for rate-limit errors. */
  readonly rateLimitResetAt: string | null;
  /** Seconds GitHub asked us to wait (`retry-after`), for secondary rate limits. */
  readonly retryAfterSeconds: number | null;
  constructor(status: number, message: string, hint: string, extra: { rateLimitResetAt?: string; retryAfterSeconds?: number } = {}) {
    super(redact(message), redact(hint));
    this.name = 'GitHubError';
    this.status = status;
    this.rateLimitResetAt = extra.rateLimitResetAt ?? null;
    this.retryAfterSeconds = extra.retryAfterSeconds ?? null;
  }
}

/** Options of `createGitHub`. */
export interface GitHubOptions {
  /** The team's token; defaults to env `GH_TOKEN`. */
  token?: string;
  /** REST base URL; defaults to env `BM_GITHUB_API_URL`, then https://api.github.com. */
  baseUrl?: string;
  /** Per-request timeout (default 30 s): a hung server must not hang `bm init`. */
  timeoutMs?: number;
  /** False for a client that only sends GraphQL: Octokit is then not loaded at all. */
  rest?: boolean;
}

/** Builds the GitHub client; throws a `BmError` when there is no token or the base URL is invalid. */
export async function createGitHub(options: GitHubOptions = {}): Promise<GitHub> {
  const token = options.token || process.env.GH_TOKEN;
  if (!token) throw new BmError('No GitHub token', TOKEN_HINT);
  const baseUrl = normaliseBaseUrl(options.baseUrl || process.env.BM_GITHUB_API_URL || DEFAULT_API_URL);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const silent = { debug: noop, info: noop, warn: noop, error: noop };
  // Octokit has no timeout of its own; a signal set per request keeps each call bounded.
  const timedFetch = (url: string | URL | Request, init: RequestInit = {}) =>
    fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
  if (options.rest === false) return new GitHub(null, baseUrl, token, timeoutMs);
  const { Octokit: OctokitClass } = await import('@octokit/rest');
  const octokit = new OctokitClass({ auth: token, baseUrl, userAgent: 'bm', log: silent, request: { fetch: timedFetch, log: silent } });
  return new GitHub(octokit, baseUrl, token, timeoutMs);
}

function noop(): void {}

function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BmError(`Invalid GitHub API URL '${redact(raw)}'`, 'Set BM_GITHUB_API_URL to an http(s) URL such as https://github.example.com/api/v3');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BmError(`Invalid GitHub API URL '${redact(raw)}'`, 'Use an http:// or https:// URL');
  }
  return raw.replace(/\/+$/, '');
}

/** GitHub Enterprise serves REST under `/api/v3` and GraphQL under `/api/graphql`. */
export function graphqlUrlFor(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return /\/api\/v3$/.test(base) ? base.replace(/\/api\/v3$/, '/api/graphql') : `${base}/graphql`;
}

// ---------------------------------------------------------------------------------------------
// Names

const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** An `owner/name` pair, named as Octokit names its parameters. */
export interface RepoSlug {
  owner: string;
  repo: string;
}

/** Parses `owner/name` strictly; anything else (extra slashes, `..`, URLs) is a `BmError`. */
export function parseRepoSlug(slug: string): RepoSlug {
  const parts = slug.split('/');
  const [owner, repo] = parts;
  if (parts.length !== 2 || !isValidOwner(owner) || !REPO_PATTERN.test(repo) || repo === '.' || repo === '..') {
    throw new BmError(`Invalid GitHub repository '${redact(slug)}'`, 'Use OWNER/NAME, for example acme/my-team');
  }
  return { owner, repo };
}

/** True when `owner` is a syntactically valid GitHub user or organisation login. */
export function isValidOwner(owner: string): boolean {
  return OWNER_PATTERN.test(owner);
}

function checkOwner(owner: string): void {
  if (!isValidOwner(owner)) throw new BmError(`Invalid GitHub owner '${redact(owner)}'`, 'Use a GitHub user or organisation login');
}

// ---------------------------------------------------------------------------------------------
// Error mapping

interface HttpFailure {
  status: number;
  response?: { headers: Record<string, string | number | undefined>; data?: unknown };
  cause?: unknown;
}

function isHttpFailure(error: unknown): error is Error & HttpFailure {
  return error instanceof Error && typeof (error as Partial<HttpFailure>).status === 'number';
}

/** GitHub's message, with the `errors[]` details of a 422 (`message`, else `resource.field code`). */
function githubMessage(data: unknown): string {
  if (typeof data === 'string') return data;
  if (!data || typeof data !== 'object') return '';
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const details = Array.isArray(errors)
    ? errors.map((e: { message?: unknown; resource?: unknown; field?: unknown; code?: unknown }) =>
      typeof e?.message === 'string' ? e.message : [e?.resource, e?.field, e?.code].filter((x) => typeof x === 'string').join(' ')).filter(Boolean)
    : [];
  return [typeof message === 'string' ? message : '', ...details].filter(Boolean).join(': ');
}

/** Seconds to wait after a secondary rate limit: `retry-after` when GitHub sent it, else at least a minute, as GitHub documents. */
export const SECONDARY_LIMIT_MIN_SECONDS = 60;

function networkCode(error: unknown): string {
  // Node's fetch puts the socket error code (ECONNREFUSED, ENOTFOUND, ...) in a TypeError's cause;
  // Deno's only says it in words, hence the message patterns.
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError') return 'timeout';
    const text = String(message ?? '');
    if (/connection refused/i.test(text)) return 'ECONNREFUSED';
    if (/dns error|failed to lookup|name or service not known/i.test(text)) return 'ENOTFOUND';
  }
  return 'network error';
}

/**
 * Turns anything thrown by an Octokit call into a `GitHubError`; `doing` completes
 * "while trying to ...". Exported so callers using `gh.octokit` directly report errors the same way.
 */
export function toGitHubError(gh: GitHub, error: unknown, doing: string): GitHubError {
  if (error instanceof GitHubError) return error;
  const make = (status: number, message: string, hint: string, extra?: ConstructorParameters<typeof GitHubError>[3]) =>
    new GitHubError(status, gh.redact(message), gh.redact(hint), extra);
  if (!isHttpFailure(error)) {
    const text = error instanceof Error ? error.message : String(error);
    return make(0, `Unexpected failure while trying to ${doing}: ${text}`, 'Re-run the command; if it keeps failing, report it');
  }
  if (!error.response) {
    const code = networkCode(error.cause ?? error);
    const what = code === 'timeout' ? `${gh.baseUrl} did not answer in time` : `Cannot reach ${gh.baseUrl} (${code})`;
    return make(0, `${what} while trying to ${doing}`, 'Check your network connection, or BM_GITHUB_API_URL if you set it');
  }
  const { status } = error;
  const headers = error.response.headers;
  const detail = githubMessage(error.response.data);
  const retryAfter = Number(headers['retry-after']);
  if (status === 401) {
    return make(401, `GitHub rejected the token (bad or expired credentials) while trying to ${doing}`, TOKEN_HINT);
  }
  if ((status === 403 || status === 429) && String(headers['x-ratelimit-remaining']) === '0') {
    const resetAt = new Date(Number(headers['x-ratelimit-reset']) * 1000);
    const when = Number.isNaN(resetAt.getTime()) ? 'the limit resets' : resetAt.toISOString();
    return make(status, `GitHub API rate limit exceeded until ${when}`, 'Wait until then and retry, or use a token with a higher limit',
      Number.isNaN(resetAt.getTime()) ? {} : { rateLimitResetAt: resetAt.toISOString() });
  }
  if (status === 429 || (status === 403 && (Number.isFinite(retryAfter) || /secondary rate limit|abuse/i.test(detail)))) {
    const wait = Number.isFinite(retryAfter) ? retryAfter : SECONDARY_LIMIT_MIN_SECONDS;
    return make(status, `GitHub secondary rate limit hit while trying to ${doing}`, `Wait ${wait} seconds and retry`, { retryAfterSeconds: wait });
  }
  if (status === 403) {
    return make(403, `The token is not allowed to ${doing}${detail ? ` (${detail})` : ''}`, SCOPE_HINT);
  }
  if (status === 404) {
    return make(404, `Not found while trying to ${doing}`, 'Check the owner and name, and that the token can see them');
  }
  if (status >= 500) {
    return make(status, `GitHub is unavailable (HTTP ${status}) while trying to ${doing}`, 'Try again in a few minutes (https://www.githubstatus.com)');
  }
  return make(status, `GitHub refused to ${doing} (HTTP ${status}${detail ? `: ${detail}` : ''})`, 'Check the values passed to bm and try again');
}

async function call<T>(gh: GitHub, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toGitHubError(gh, error, doing);
  }
}

/** Runs `fn`; a 404 becomes `null`, every other failure a `GitHubError`. */
async function orNull<T>(gh: GitHub, doing: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    if (isHttpFailure(error) && error.status === 404 && error.response) return null;
    throw toGitHubError(gh, error, doing);
  }
}

function ownerNotFound(owner: string): GitHubError {
  return new GitHubError(404, `GitHub owner '${owner}' not found`, 'Check the OWNER part: it must be an existing user or organisation login');
}

// ---------------------------------------------------------------------------------------------
// REST: user, repository, labels

/** The login the token belongs to (`GET /user`); also proves the token works. */
export async function authenticatedLogin(gh: GitHub): Promise<string> {
  const { data } = await call(gh, 'read the authenticated user', () => gh.octokit.request('GET /user'));
  if (!isGitHubLogin(data.login)) throw new BmError('GitHub answered `GET /user` with a login that is not a GitHub login', 'Check BM_GITHUB_API_URL: it must point at GitHub (or GitHub Enterprise) itself.');
  return data.login;
}

/**
 * Checks that a classic token has the scopes bm needs (`X-OAuth-Scopes` of `GET /user`) before
 * anything is created; fine-grained tokens and App tokens send no such header and are let through
 * (GitHub then refuses a missing permission on the call that needs it). `repo` covers
 * `public_repo`; `project` (not `read:project`) is needed to create the board.
 */
export async function checkTokenScopes(gh: GitHub, needed: readonly string[]): Promise<void> {
  const { headers } = await call(gh, 'read the authenticated user', () => gh.octokit.request('GET /user'));
  const header = headers['x-oauth-scopes'];
  if (typeof header !== 'string') return;
  const have = new Set(header.split(',').map((s) => s.trim()).filter(Boolean));
  const missing = needed.filter((scope) => !have.has(scope));
  if (missing.length > 0) {
    throw new GitHubError(403, `The token lacks the ${missing.map((m) => `\`${m}\``).join(' and ')} scope${missing.length > 1 ? 's' : ''} (it has: ${[...have].join(', ') || 'none'}); nothing was created`,
      `Add ${missing.join(' and ')} to the token (gh auth refresh -s ${missing.join(',')}, or a new token), export it as GH_TOKEN and re-run \`bm init\``);
  }
}

/** What `ensureRepo` reports. */
export interface RepoInfo {
  created: boolean;
  fullName: string;
  cloneUrl: string;
  htmlUrl: string;
  defaultBranch: string;
}

interface RepoData {
  full_name: string;
  clone_url: string;
  html_url: string;
  default_branch?: string;
}

function repoInfo(data: RepoData, created: boolean): RepoInfo {
  return { created, fullName: data.full_name, cloneUrl: data.clone_url, htmlUrl: data.html_url, defaultBranch: data.default_branch || 'main' };
}

/**
 * Makes sure `owner/name` exists, creating it under the token's user or under an organisation.
 * Safe to re-run: an existing repository is reported with `created: false`.
 */
export async function ensureRepo(gh: GitHub, slug: string, options: { private?: boolean; description?: string } = {}): Promise<RepoInfo> {
  const { owner, repo } = parseRepoSlug(slug);
  const read = () => orNull(gh, `read repository ${slug}`, () => gh.octokit.request('GET /repos/{owner}/{repo}', { owner, repo }));
  const existing = await read();
  if (existing) return repoInfo(existing.data, false);

  const body = { name: repo, private: options.private ?? true, description: options.description ?? '', auto_init: false };
  const self = await authenticatedLogin(gh);
  let create: () => Promise<{ data: RepoData }>;
  if (self.toLowerCase() === owner.toLowerCase()) {
    create = () => gh.octokit.request('POST /user/repos', body);
  } else {
    const user = await orNull(gh, `look up owner ${owner}`, () => gh.octokit.request('GET /users/{username}', { username: owner }));
    if (!user) throw ownerNotFound(owner);
    if (user.data.type !== 'Organization') {
      throw new GitHubError(403, `Cannot create ${slug}: '${owner}' is another user's account, not yours (${self}) or an organisation`,
        `Use your own login or an organisation you belong to as OWNER`);
    }
    create = () => gh.octokit.request('POST /orgs/{org}/repos', { org: owner, ...body });
  }
  try {
    return repoInfo((await create()).data, true);
  } catch (error) {
    // A 422 whose errors say the name is taken: a concurrent run created it, or the token cannot
    // see it. Any other 422 is shown with GitHub's own words.
    if (!(isHttpFailure(error) && error.status === 422)) throw toGitHubError(gh, error, `create repository ${slug}`);
    if (!/already exists/i.test(githubMessage(error.response?.data))) throw toGitHubError(gh, error, `create repository ${slug}`);
    const again = await read();
    if (again) return repoInfo(again.data, false);
    throw new GitHubError(422, `Repository ${slug} already exists but the token cannot access it`,
      'Grant the token access to that repository, or choose another name');
  }
}

/** A label as the profile declares it; `color` is 6 hex digits, with or without `#`. */
export interface LabelSpec {
  name: string;
  color: string;
  description?: string;
}

function isAlreadyExists(error: unknown): boolean {
  if (!isHttpFailure(error) || error.status !== 422) return false;
  const data = error.response?.data;
  const errors = data && typeof data === 'object' && 'errors' in data && Array.isArray(data.errors) ? data.errors : [];
  return errors.some((e: unknown) => Boolean(e && typeof e === 'object' && 'code' in e && e.code === 'already_exists'));
}

/** Creates the labels, or updates colour and description of those that exist. Safe to re-run. */
export async function ensureLabels(gh: GitHub, slug: string, labels: readonly LabelSpec[]): Promise<{ created: string[]; updated: string[] }> {
  const { owner, repo } = parseRepoSlug(slug);
  const created: string[] = [];
  const updated: string[] = [];
  // One at a time: GitHub asks integrations to send mutating requests serially.
  for (const label of labels) {
    const fields = { color: label.color.replace(/^#/, ''), description: label.description ?? '' };
    try {
      await gh.octokit.request('POST /repos/{owner}/{repo}/labels', { owner, repo, name: label.name, ...fields });
      created.push(label.name);
    } catch (error) {
      if (!isAlreadyExists(error)) throw toGitHubError(gh, error, `create label '${label.name}' in ${slug}`);
      await call(gh, `update label '${label.name}' in ${slug}`, () =>
        gh.octokit.request('PATCH /repos/{owner}/{repo}/labels/{name}', { owner, repo, name: label.name, ...fields }));
      updated.push(label.name);
    }
  }
  return { created, updated };
}

// ---------------------------------------------------------------------------------------------
// REST: repository webhooks

/** A repository webhook as bm reads it (GitHub never sends its secret back). */
export interface RepoHook {
  id: number;
  /** Where GitHub delivers (`config.url`). */
  url: string;
  contentType: string;
  events: string[];
  active: boolean;
  /** GitHub's answer from the last delivery: `code` is null before the first (status `unused`), or after 30 days without one. */
  lastResponse: { code: number | null; status: string | null; message: string | null } | null;
}

/** What bm sets on the team's webhook. */
export interface HookConfig {
  url: string;
  secret: string;
  events: readonly string[];
}

function toHook(data: unknown): RepoHook {
  const h = (data ?? {}) as { id?: unknown; active?: unknown; events?: unknown; config?: { url?: unknown; content_type?: unknown }; last_response?: { code?: unknown; status?: unknown; message?: unknown } | null };
  const last = h.last_response;
  return {
    id: Number(h.id), url: typeof h.config?.url === 'string' ? h.config.url : '', contentType: typeof h.config?.content_type === 'string' ? h.config.content_type : 'form',
    events: Array.isArray(h.events) ? h.events.filter((e): e is string => typeof e === 'string') : [], active: h.active !== false,
    lastResponse: last ? { code: typeof last.code === 'number' ? last.code : null, status: typeof last.status === 'string' ? last.status : null, message: typeof last.message === 'string' ? last.message : null } : null,
  };
}

const HOOK_HINT = 'The token needs admin rights on the repository and, for a classic token, the `admin:repo_hook` (or `repo`) scope';

function hookError(gh: GitHub, error: unknown, doing: string): GitHubError {
  const failure = toGitHubError(gh, error, doing);
  // GitHub answers 404 (not 403) when the token may not manage the repository's hooks.
  return failure.status === 404 || (failure.status === 403 && !failure.retryAfterSeconds && !failure.rateLimitResetAt)
    ? new GitHubError(failure.status, failure.message, HOOK_HINT) : failure;
}

/** The repository's webhooks (`GET /repos/{owner}/{repo}/hooks`, every page). */
export async function listRepoHooks(gh: GitHub, slug: string): Promise<RepoHook[]> {
  const { owner, repo } = parseRepoSlug(slug);
  try {
    const hooks = await gh.octokit.paginate('GET /repos/{owner}/{repo}/hooks', { owner, repo, per_page: 100 });
    return hooks.map(toHook);
  } catch (error) {
    throw hookError(gh, error, `list the webhooks of ${slug}`);
  }
}

/** One webhook of the repository, or null when it is gone. */
export async function readRepoHook(gh: GitHub, slug: string, id: number): Promise<RepoHook | null> {
  const { owner, repo } = parseRepoSlug(slug);
  const found = await orNull(gh, `read webhook ${id} of ${slug}`, () => gh.octokit.request('GET /repos/{owner}/{repo}/hooks/{hook_id}', { owner, repo, hook_id: id }));
  return found ? toHook(found.data) : null;
}

/**
 * Creates the webhook (JSON deliveries, signed with the secret, sent in the body and never
 * logged), or updates hook `update.id` to it (keeping a `form` content type); GitHub pings a new
 * hook, and bm pings an updated one, so its last response soon tells whether deliveries arrive.
 */
export async function saveRepoHook(gh: GitHub, slug: string, hook: HookConfig, update?: { id: number; contentType: string }): Promise<RepoHook> {
  const { owner, repo } = parseRepoSlug(slug);
  const id = update?.id;
  const body = { active: true, events: [...hook.events], config: { url: hook.url, content_type: update?.contentType === 'form' ? 'form' : 'json', secret: hook.secret, insecure_ssl: '0' } };
  try {
    if (id === undefined) return toHook((await gh.octokit.request('POST /repos/{owner}/{repo}/hooks', { owner, repo, name: 'web', ...body })).data);
    const { data } = await gh.octokit.request('PATCH /repos/{owner}/{repo}/hooks/{hook_id}', { owner, repo, hook_id: id, ...body });
    await gh.octokit.request('POST /repos/{owner}/{repo}/hooks/{hook_id}/pings', { owner, repo, hook_id: id });
    return toHook(data);
  } catch (error) {
    throw hookError(gh, error, `${id === undefined ? 'create' : 'update'} the webhook of ${slug}`);
  }
}

// ---------------------------------------------------------------------------------------------
// GraphQL: the Projects v2 board

interface GraphQLErrorItem {
  type?: string;
  message?: string;
}

/** What a GraphQL answer says about the GraphQL rate limit (`x-ratelimit-*` headers). */
export interface RateLimitInfo {
  remaining: number | null;
  /** When the limit resets (ISO time), when GitHub said. */
  resetAt: string | null;
}

function rateLimitOf(headers: Record<string, string | number | undefined>): RateLimitInfo {
  const remaining = Number(headers['x-ratelimit-remaining']);
  const reset = Number(headers['x-ratelimit-reset']);
  return { remaining: Number.isFinite(remaining) ? remaining : null, resetAt: Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000).toISOString() : null };
}

async function graphqlWithLimits<T>(gh: GitHub, doing: string, query: string, variables: Record<string, unknown>): Promise<{ data: T; limits: RateLimitInfo }> {
  const operationName = /^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1];
  const response = await call(gh, doing, () => gh.postGraphQL({ query, operationName, variables }));
  const limits = rateLimitOf(response.headers);
  const body = response.data as { data?: T | null; errors?: GraphQLErrorItem[] };
  const first = body.errors?.[0];
  if (first) {
    const detail = first.message ?? 'unknown GraphQL error';
    if (first.type === 'INSUFFICIENT_SCOPES' || first.type === 'FORBIDDEN') {
      throw new GitHubError(403, gh.redact(`The token is not allowed to ${doing} (${detail})`), SCOPE_HINT);
    }
    if (first.type === 'RATE_LIMITED') {
      // GitHub says when the GraphQL points come back: x-ratelimit-reset, not "an hour".
      const until = limits.resetAt ?? new Date(Date.now() + 60 * 60_000).toISOString();
      throw new GitHubError(403, `GitHub GraphQL rate limit exceeded while trying to ${doing}; it resets at ${until}`,
        `Wait until ${until} and retry, or use a token with a higher limit`, { rateLimitResetAt: until });
    }
    if (first.type === 'NOT_FOUND') {
      throw new GitHubError(404, gh.redact(`Not found while trying to ${doing} (${detail})`), 'Check the owner and that the token can see it');
    }
    throw new GitHubError(422, gh.redact(`GitHub refused to ${doing} (${detail})`), 'Check the values passed to bm and try again');
  }
  if (!body.data) throw new GitHubError(502, `GitHub sent an empty GraphQL answer while trying to ${doing}`, 'Try again in a few minutes');
  return { data: body.data, limits };
}

/** Sends one GraphQL operation (named by its `query`/`mutation` keyword); GraphQL errors become `GitHubError`s. */
export async function graphql<T>(gh: GitHub, doing: string, query: string, variables: Record<string, unknown>): Promise<T> {
  return (await graphqlWithLimits<T>(gh, doing, query, variables)).data;
}

/** One board status as the profile declares it. */
export interface StatusSpec {
  name: string;
  description?: string;
}

/** A Projects v2 single-select colour. */
export type OptionColor = 'GRAY' | 'BLUE' | 'GREEN' | 'YELLOW' | 'ORANGE' | 'RED' | 'PINK' | 'PURPLE';

const PREFIX_COLORS: Record<string, OptionColor> = {
  po: 'BLUE', human: 'RED', arch: 'PURPLE', dev: 'YELLOW', qe: 'PINK', reviewer: 'ORANGE', lead: 'ORANGE', cw: 'ORANGE', done: 'GREEN', error: 'RED',
};

/** Board colour of a status, from the role prefix before `:` (`dev:implement` → YELLOW). */
export function statusColor(status: string): OptionColor {
  return PREFIX_COLORS[status.split(':')[0].trim().toLowerCase()] ?? 'GRAY';
}

/** What `ensureBoard` reports. */
export interface BoardInfo {
  created: boolean;
  id: string;
  number: number;
  url: string;
  /** True when the Status options had to be (re)written. */
  statusUpdated: boolean;
  statusOptions: string[];
}

export interface ProjectNode {
  id: string;
  number: number;
  title: string;
  url: string;
}

interface FieldNode {
  id?: string;
  name?: string;
  dataType?: string;
  options?: { id: string; name: string; color: string; description: string }[];
}

const OWNER_QUERY = `query BmOwner($login: String!) {
  repositoryOwner(login: $login) { __typename id login }
}`;

const BOARDS_QUERY = `query BmBoards($login: String!, $first: Int!, $cursor: String) {
  repositoryOwner(login: $login) {
    ... on ProjectV2Owner {
      projectsV2(first: $first, after: $cursor) {
        nodes { id number title url }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

const CREATE_BOARD_MUTATION = `mutation BmCreateBoard($ownerId: ID!, $title: String!) {
  createProjectV2(input: { ownerId: $ownerId, title: $title }) {
    projectV2 { id number title url }
  }
}`;

const FIELDS_QUERY = `query BmBoardFields($projectId: ID!) {
  node(id: $projectId) {
    ... on ProjectV2 {
      fields(first: 100) {
        nodes {
          ... on ProjectV2FieldCommon { id name dataType }
          ... on ProjectV2SingleSelectField { options { id name color description } }
        }
      }
    }
  }
}`;

const SET_OPTIONS_MUTATION = `mutation BmSetStatusOptions($fieldId: ID!, $options: [ProjectV2SingleSelectFieldOptionInput!]!) {
  updateProjectV2Field(input: { fieldId: $fieldId, singleSelectOptions: $options }) {
    projectV2Field { ... on ProjectV2SingleSelectField { id name options { id name color description } } }
  }
}`;

const CREATE_FIELD_MUTATION = `mutation BmCreateStatusField($projectId: ID!, $options: [ProjectV2SingleSelectFieldOptionInput!]!) {
  createProjectV2Field(input: { projectId: $projectId, dataType: SINGLE_SELECT, name: "Status", singleSelectOptions: $options }) {
    projectV2Field { ... on ProjectV2SingleSelectField { id name options { id name color description } } }
  }
}`;

/** The board of `owner` titled exactly `title`, or null. */
export async function findBoard(gh: GitHub, owner: string, title: string): Promise<ProjectNode | null> {
  let cursor: string | null = null;
  // Listing and matching the exact title here: GitHub's `query:` argument is a fuzzy search.
  for (;;) {
    type Page = { repositoryOwner: { projectsV2?: { nodes: (ProjectNode | null)[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null };
    const page: Page = await graphql<Page>(gh, `list the projects of ${owner}`, BOARDS_QUERY, { login: owner, first: 100, cursor });
    const projects = page.repositoryOwner?.projectsV2;
    if (!projects) return null;
    const match = projects.nodes.find((node) => node?.title === title);
    if (match) return match;
    if (!projects.pageInfo.hasNextPage || !projects.pageInfo.endCursor) return null;
    cursor = projects.pageInfo.endCursor;
  }
}

/**
 * Makes sure `owner` has a Projects v2 board titled `title` whose `Status` field offers exactly
 * `statuses`, in order. Safe to re-run: an existing board is reused, and its options are only
 * rewritten when they differ (rewriting replaces option ids, which clears items' statuses).
 */
export async function ensureBoard(gh: GitHub, owner: string, title: string, statuses: readonly StatusSpec[]): Promise<BoardInfo> {
  checkOwner(owner);
  const found = await graphql<{ repositoryOwner: { id: string } | null }>(gh, `look up owner ${owner}`, OWNER_QUERY, { login: owner });
  if (!found.repositoryOwner) throw ownerNotFound(owner);

  let board = await findBoard(gh, owner, title);
  const created = !board;
  if (!board) {
    const made = await graphql<{ createProjectV2: { projectV2: ProjectNode } }>(gh, `create project '${title}' for ${owner}`,
      CREATE_BOARD_MUTATION, { ownerId: found.repositoryOwner.id, title });
    board = made.createProjectV2.projectV2;
  }

  const wanted = statuses.map((s) => ({ name: s.name, color: statusColor(s.name), description: s.description ?? '' }));
  const fieldData = await graphql<{ node: { fields?: { nodes: (FieldNode | null)[] } } | null }>(gh,
    `read the fields of project '${title}'`, FIELDS_QUERY, { projectId: board.id });
  const status = fieldData.node?.fields?.nodes.find((f) => f?.name === 'Status' && f.dataType === 'SINGLE_SELECT');
  type Written = { projectV2Field: { options: { name: string }[] } };
  let statusOptions: string[];
  let statusUpdated = true;
  if (!status?.id) {
    const made = await graphql<{ createProjectV2Field: Written }>(gh, `create the Status field of project '${title}'`,
      CREATE_FIELD_MUTATION, { projectId: board.id, options: wanted });
    statusOptions = made.createProjectV2Field.projectV2Field.options.map((o) => o.name);
  } else if (sameOptions(status.options ?? [], wanted)) {
    statusUpdated = false;
    statusOptions = (status.options ?? []).map((o) => o.name);
  } else {
    const set = await graphql<{ updateProjectV2Field: Written }>(gh, `set the Status options of project '${title}'`,
      SET_OPTIONS_MUTATION, { fieldId: status.id, options: wanted });
    statusOptions = set.updateProjectV2Field.projectV2Field.options.map((o) => o.name);
  }
  return { created, id: board.id, number: board.number, url: board.url, statusUpdated, statusOptions };
}

/** The team's board as the daemon needs it. */
export interface TeamBoard {
  id: string;
  number: number;
  url: string;
  /** The node id of its Status field, when it has one. */
  statusFieldId: string | null;
  /** User-owned boards get no `projects_v2_item` webhooks: only polling sees their moves. */
  ownerType: 'User' | 'Organization';
}

/** Finds `owner`'s board titled `title` (what `bm init` made), or null when there is none. */
export async function findTeamBoard(gh: GitHub, owner: string, title: string): Promise<TeamBoard | null> {
  checkOwner(owner);
  const found = await graphql<{ repositoryOwner: { __typename: string } | null }>(gh, `look up owner ${owner}`, OWNER_QUERY, { login: owner });
  if (!found.repositoryOwner) throw ownerNotFound(owner);
  const board = await findBoard(gh, owner, title);
  if (!board) return null;
  const fieldData = await graphql<{ node: { fields?: { nodes: (FieldNode | null)[] } } | null }>(gh,
    `read the fields of project '${title}'`, FIELDS_QUERY, { projectId: board.id });
  const status = fieldData.node?.fields?.nodes.find((f) => f?.name === 'Status' && f.dataType === 'SINGLE_SELECT');
  return {
    id: board.id, number: board.number, url: board.url, statusFieldId: status?.id ?? null,
    ownerType: found.repositoryOwner.__typename === 'Organization' ? 'Organization' : 'User',
  };
}

function sameOptions(have: readonly { name: string; color: string; description: string }[],
  want: readonly { name: string; color: string; description: string }[]): boolean {
  return have.length === want.length &&
    have.every((o, i) => o.name === want[i].name && o.color === want[i].color && (o.description ?? '') === want[i].description);
}

// ---------------------------------------------------------------------------------------------
// Polling

/** One entry of the repository events timeline. Ids are numeric strings: compare them as BigInt. */
export interface RepoEvent {
  id: string;
  type: string;
  created_at: string;
  /** Who caused it. */
  actor: { login: string } | null;
  repo: { name: string } | null;
  /** The event's action (`opened`, `created` ...), when it has one. */
  payload: { action?: string };
}

/*
 * The repository events timeline for the daemon's poller, page by page.
 *
 * GitHub keeps the newest 300 events of a repository and serves them 100 per page at most. The
 * first page is a conditional request (`If-None-Match` with the last ETag): a 304 means nothing
 * changed and costs no rate limit. When something changed, the following pages are read through
 * the `Link: <...>; rel="next"` URLs GitHub sends (never built by hand) until a page reaches the
 * cursor (events at or below it were seen before) or the timeline ends. So a relevant event
 * followed by a hundred irrelevant ones is still seen. A link to another host is refused: the
 * request would carry the token there.
 */

/** What one poll read. */
export interface EventsRead {
  /** 304: nothing changed since the ETag sent (no events, no rate limit spent). */
  status: 200 | 304;
  /** Newest first, across the pages read. */
  events: RepoEvent[];
  /** The first page's ETag, to send back as-is; the old one on a 304. */
  etag: string | null;
  /** GitHub's `X-Poll-Interval` (minimum seconds until the next poll), 60 when absent. */
  pollIntervalSeconds: number;
  pages: number;
  /** True when a page held an event at or below the cursor: nothing newer was missed. */
  reachedCursor: boolean;
  /** True when the pages read reach the timeline's end (no next page left unread). */
  complete: boolean;
}

/** A runaway `next` chain stops here (GitHub's 300 events at 100 per page take 3). */
const MAX_PAGES = 10;

type Headers = Record<string, string | number | undefined>;

/** The `rel="next"` URL of a Link header. */
export function nextLink(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]+)>\s*;(.*)$/.exec(part);
    if (match && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/.test(match[2])) return match[1];
  }
  return undefined;
}

function pollInterval(headers: Headers): number {
  const value = Number(headers['x-poll-interval']);
  return Number.isFinite(value) && value > 0 ? value : 60;
}

function toEvents(data: unknown): RepoEvent[] {
  if (!Array.isArray(data)) return [];
  return data
    .filter((e): e is { id: unknown; type?: unknown; created_at?: unknown; actor?: unknown; repo?: unknown; payload?: unknown } => e !== null && typeof e === 'object')
    .filter((e) => /^\d+$/.test(String(e.id)))
    .map((e) => {
      const login = (e.actor as { login?: unknown } | null)?.login;
      const name = (e.repo as { name?: unknown } | null)?.name;
      const action = (e.payload as { action?: unknown } | null)?.action;
      return {
        id: String(e.id), type: typeof e.type === 'string' ? e.type : '', created_at: typeof e.created_at === 'string' ? e.created_at : '',
        actor: isGitHubLogin(login) ? { login } : null,
        repo: typeof name === 'string' ? { name } : null,
        payload: typeof action === 'string' ? { action } : {},
      };
    });
}

/**
 * Reads the events of `slug` newer than `cursor` (all of page 1 when there is no cursor).
 * Failures are GitHubErrors (rate limits carry their reset time).
 */
export async function readRepoEvents(gh: GitHub, slug: string, options: { etag: string | null; cursor: string | null }): Promise<EventsRead> {
  const { owner, repo } = parseRepoSlug(slug);
  const doing = `read the events of ${slug}`;
  let response: { data: unknown; headers: Headers };
  try {
    response = await gh.octokit.request('GET /repos/{owner}/{repo}/events', {
      owner, repo, per_page: 100, headers: options.etag ? { 'if-none-match': options.etag } : {},
    });
  } catch (error) {
    const failure = error as { status?: unknown; response?: { headers: Headers } };
    // Octokit throws on 304; for a poller it is the normal "nothing new".
    if (failure.status === 304 && failure.response) {
      return { status: 304, events: [], etag: options.etag, pollIntervalSeconds: pollInterval(failure.response.headers), pages: 1, reachedCursor: true, complete: true };
    }
    throw toGitHubError(gh, error, doing);
  }
  const first = response.headers;
  const events = toEvents(response.data);
  const cursor = options.cursor === null ? null : BigInt(options.cursor);
  const reached = () => cursor !== null && events.some((e) => BigInt(e.id) <= cursor);
  let pages = 1;
  let next = nextLink(first.link);
  while (cursor !== null && next && !reached() && pages < MAX_PAGES) {
    if (new URL(next, gh.baseUrl).origin !== new URL(gh.baseUrl).origin) {
      throw new GitHubError(0, `GitHub sent a next-page link to another host (${new URL(next, gh.baseUrl).host}) while trying to ${doing}`, 'Check BM_GITHUB_API_URL; bm does not send the token elsewhere');
    }
    try {
      response = await gh.octokit.request({ method: 'GET', url: new URL(next, gh.baseUrl).toString() });
    } catch (error) {
      throw toGitHubError(gh, error, doing);
    }
    pages++;
    events.push(...toEvents(response.data));
    next = nextLink(response.headers.link);
  }
  return {
    status: 200,
    events,
    etag: typeof first.etag === 'string' ? first.etag : null,
    pollIntervalSeconds: pollInterval(first),
    pages,
    reachedCursor: reached(),
    complete: next === undefined && events.length < 300,
  };
}

// ---------------------------------------------------------------------------------------------
// Board polling

/** One item of a board as the daemon's board poll sees it. */
export interface BoardItem {
  id: string;
  updatedAt: string;
  /** Its Status option's name, or null when it has none. */
  status: string | null;
  /** `owner/name#number` of the issue or pull request, when it is one. */
  ref: string | null;
}

const BOARD_ITEMS_QUERY = `query BmBoardItems($board: ID!, $first: Int!, $after: String) {
  node(id: $board) {
    ... on ProjectV2 {
      items(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          updatedAt
          content { ... on Issue { number repository { nameWithOwner } } ... on PullRequest { number repository { nameWithOwner } } }
          status: fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { name } }
        }
      }
    }
  }
}`;

/** A runaway item list stops here (100 items a page). */
const MAX_ITEM_PAGES = 10;

/**
 * The items of board `boardId` with their Status and `updatedAt`: one query (1 point) per 100
 * items. Projects v2 items cannot be ordered by `updatedAt`, so the caller compares them with
 * what it saw before. Returns GitHub's GraphQL rate-limit headers of the last page.
 */
export async function readBoardItems(gh: GitHub, boardId: string): Promise<{ items: BoardItem[]; limits: RateLimitInfo; pages: number }> {
  type Page = { node: { items?: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: ({ id: string; updatedAt: string; content: { number?: number; repository?: { nameWithOwner: string } } | null; status: { name?: string } | null } | null)[] } } | null };
  const items: BoardItem[] = [];
  let after: string | null = null;
  let limits: RateLimitInfo = { remaining: null, resetAt: null };
  let pages = 0;
  do {
    const answer: { data: Page; limits: RateLimitInfo } = await graphqlWithLimits<Page>(gh, 'read the board items', BOARD_ITEMS_QUERY, { board: boardId, first: 100, after });
    pages++;
    limits = answer.limits;
    const page = answer.data.node?.items;
    if (!page) break;
    for (const node of page.nodes) {
      if (!node) continue;
      const content = node.content;
      items.push({
        id: node.id, updatedAt: node.updatedAt, status: node.status?.name ?? null,
        ref: content?.repository && content.number !== undefined ? `${content.repository.nameWithOwner}#${content.number}` : null,
      });
    }
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after && pages < MAX_ITEM_PAGES);
  return { items, limits, pages };
}

// ---------------------------------------------------------------------------------------------
// Reconciling a team's board and labels with its profile (`bm teams sync --board`)

const SET_ITEM_STATUS_MUTATION = `mutation BmSetItemStatus($projectId: ID!, $itemId: ID!, $fieldId: ID!, $optionId: String!) {
  updateProjectV2ItemFieldValue(input: { projectId: $projectId, itemId: $itemId, fieldId: $fieldId, value: { singleSelectOptionId: $optionId } }) { projectV2Item { id } }
}`;

/** What `reconcileBoard` changed (or, with `dryRun`, would change), one line each. */
export interface BoardReconcile {
  url: string;
  changes: string[];
  /** Options not in the profile that items still use, kept because `prune` was not asked. */
  kept: string[];
}

/**
 * Brings the board's Status options in line with `statuses` (order, colour, description) and
 * creates or updates the profile's labels; never deletes a label. An option the profile no
 * longer has is removed when no item uses it; one still used is kept (listed in `kept`) unless
 * `prune`. Rewriting the options gives them new ids on GitHub, which clears every item's status:
 * each item's status is then set again by name. Safe to re-run: nothing changes the second time.
 */
export async function reconcileBoard(gh: GitHub, slug: string, title: string, statuses: readonly StatusSpec[], labels: readonly LabelSpec[],
  options: { prune?: boolean; dryRun?: boolean } = {}): Promise<BoardReconcile> {
  const { owner } = parseRepoSlug(slug);
  const changes: string[] = [];
  changes.push(...(await reconcileLabels(gh, slug, labels, options.dryRun ?? false)));
  const board = await findBoard(gh, owner, title);
  if (!board) {
    if (options.dryRun) return { url: '', changes: [...changes, `create board '${title}'`], kept: [] };
    const made = await ensureBoard(gh, owner, title, statuses);
    return { url: made.url, changes: [...changes, `created board '${title}' with ${made.statusOptions.length} statuses`], kept: [] };
  }
  const fieldData = await graphql<{ node: { fields?: { nodes: (FieldNode | null)[] } } | null }>(gh, `read the fields of project '${title}'`, FIELDS_QUERY, { projectId: board.id });
  const field = fieldData.node?.fields?.nodes.find((f) => f?.name === 'Status' && f.dataType === 'SINGLE_SELECT');
  if (!field?.id) {
    if (options.dryRun) return { url: board.url, changes: [...changes, 'create the Status field'], kept: [] };
    const made = await ensureBoard(gh, owner, title, statuses);
    return { url: board.url, changes: [...changes, `created the Status field with ${made.statusOptions.length} statuses`], kept: [] };
  }
  const { items } = await readBoardItems(gh, board.id);
  const used = new Set(items.map((i) => i.status).filter((s): s is string => s !== null));
  const have = field.options ?? [];
  const wanted = statuses.map((s) => ({ name: s.name, color: statusColor(s.name), description: s.description ?? '' }));
  const extras = have.filter((o) => !wanted.some((w) => w.name === o.name));
  const kept = options.prune ? [] : extras.filter((o) => used.has(o.name));
  const target = [...wanted, ...kept.map((o) => ({ name: o.name, color: o.color, description: o.description ?? '' }))];
  if (sameOptions(have, target)) return { url: board.url, changes, kept: kept.map((o) => o.name) };
  for (const w of wanted) {
    const old = have.find((o) => o.name === w.name);
    if (!old) changes.push(`add status '${w.name}'`);
    else if (old.color !== w.color || (old.description ?? '') !== w.description) changes.push(`update status '${w.name}'`);
  }
  for (const o of extras) {
    if (kept.includes(o)) continue;
    const count = items.filter((i) => i.status === o.name).length;
    changes.push(`remove status '${o.name}'${count ? ` (pruned: ${count} item(s) lose it)` : ''}`);
  }
  if (changes.every((c) => !c.includes('status'))) changes.push('reorder the statuses');
  if (options.dryRun) return { url: board.url, changes, kept: kept.map((o) => o.name) };
  type Written = { updateProjectV2Field: { projectV2Field: { options: { id: string; name: string }[] } } };
  const written = await graphql<Written>(gh, `set the Status options of project '${title}'`, SET_OPTIONS_MUTATION, { fieldId: field.id, options: target });
  const idOf = new Map(written.updateProjectV2Field.projectV2Field.options.map((o) => [o.name, o.id]));
  let restored = 0;
  // One at a time: GitHub asks integrations to send mutating requests serially.
  for (const item of items) {
    const optionId = item.status === null ? undefined : idOf.get(item.status);
    if (!optionId) continue;
    await graphql(gh, `restore the status of an item of '${title}'`, SET_ITEM_STATUS_MUTATION, { projectId: board.id, itemId: item.id, fieldId: field.id, optionId });
    restored++;
  }
  if (restored) changes.push(`restored the status of ${restored} item(s) after rewriting the options`);
  return { url: board.url, changes, kept: kept.map((o) => o.name) };
}

/** Creates missing labels and updates those whose colour or description differ; reports each change. */
async function reconcileLabels(gh: GitHub, slug: string, labels: readonly LabelSpec[], dryRun: boolean): Promise<string[]> {
  const { owner, repo } = parseRepoSlug(slug);
  const existing = await call(gh, `list the labels of ${slug}`, () =>
    gh.octokit.paginate('GET /repos/{owner}/{repo}/labels', { owner, repo, per_page: 100 })) as { name: string; color: string; description: string | null }[];
  const changes: string[] = [];
  for (const label of labels) {
    const color = label.color.replace(/^#/, '').toLowerCase();
    const description = label.description ?? '';
    const have = existing.find((l) => l.name.toLowerCase() === label.name.toLowerCase());
    if (have && have.color.toLowerCase() === color && (have.description ?? '') === description) continue;
    changes.push(`${have ? 'update' : 'create'} label '${label.name}'`);
    if (dryRun) continue;
    if (have) {
      await call(gh, `update label '${label.name}' in ${slug}`, () => gh.octokit.request('PATCH /repos/{owner}/{repo}/labels/{name}', { owner, repo, name: have.name, color, description }));
    } else {
      await call(gh, `create label '${label.name}' in ${slug}`, () => gh.octokit.request('POST /repos/{owner}/{repo}/labels', { owner, repo, name: label.name, color, description }));
    }
  }
  return changes;
}
