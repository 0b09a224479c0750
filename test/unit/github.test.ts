import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkTokenScopes, createGitHub, ensureBoard, ensureLabels, ensureRepo, GitHubError, graphqlUrlFor, parseRepoSlug, readRepoEvents, statusColor,
  type GitHub,
} from '../../lib/github.ts';

const NO_CURSOR = { etag: null, cursor: null };
import { BmError, formatError } from '../../lib/output.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';

const run = promisify(execFile);
const TOKEN = `ghp_${'A1b2C3d4'.repeat(5)}`;
const STATUSES = [
  { name: 'po:triage', description: 'New issue, PO triages' },
  { name: 'arch:design', description: 'Architect designs' },
  { name: 'dev:implement', description: 'Developer implements' },
  { name: 'qe:verify', description: 'QE verifies' },
  { name: 'lead:design-review', description: 'Lead reviews' },
  { name: 'done', description: 'Finished' },
  { name: 'error', description: 'Failed three times' },
  { name: 'sre:watch' },
];

let fake: FakeGitHub;
let gh: GitHub;

test.before.each(async () => {
  fake = await startFakeGitHub({ login: 'alice', orgs: ['acme'], users: ['bob'], token: TOKEN });
  gh = await createGitHub({ token: TOKEN, baseUrl: fake.url });
});

test.after.each(async () => {
  await fake.close();
});

/** Runs `fn`, which must throw a GitHubError, and returns it. */
async function failure(fn: () => Promise<unknown>): Promise<GitHubError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, GitHubError);
    return error as GitHubError;
  }
  throw new Error('expected a GitHubError, got success');
}

test('parseRepoSlug accepts owner/name and rejects everything else', () => {
  assert.equal(parseRepoSlug('acme/my-team.v2'), { owner: 'acme', repo: 'my-team.v2' });
  for (const bad of ['acme', 'acme/', '/team', 'acme/team/x', 'acme/..', 'acme/.', '-acme/team', 'ac me/team', 'acme/te am',
    'https://github.com/acme/team', `a${'b'.repeat(39)}/team`, `acme/${'r'.repeat(101)}`]) {
    assert.throws(() => parseRepoSlug(bad), (e: unknown) => e instanceof BmError && /Invalid GitHub repository/.test(e.message), bad);
  }
});

test('graphqlUrlFor handles github.com and GitHub Enterprise', () => {
  assert.is(graphqlUrlFor('https://api.github.com'), 'https://api.github.com/graphql');
  assert.is(graphqlUrlFor('https://ghe.example.com/api/v3/'), 'https://ghe.example.com/api/graphql');
});

test('statusColor colours by role prefix', () => {
  assert.equal(STATUSES.map((s) => statusColor(s.name)), ['BLUE', 'PURPLE', 'YELLOW', 'PINK', 'ORANGE', 'GREEN', 'RED', 'GRAY']);
  assert.is(statusColor('reviewer:review'), 'ORANGE');
});

test('createGitHub needs a token and takes the base URL from BM_GITHUB_API_URL', async () => {
  const saved = { token: process.env.GH_TOKEN, url: process.env.BM_GITHUB_API_URL };
  try {
    delete process.env.GH_TOKEN;
    await createGitHub().then(() => assert.unreachable('no token must fail'), (e: unknown) => {
      assert.instance(e, BmError);
      assert.match(String((e as BmError).hint), 'GH_TOKEN');
    });
    process.env.GH_TOKEN = TOKEN;
    process.env.BM_GITHUB_API_URL = `${fake.url}/`;
    const fromEnv = await createGitHub();
    assert.is(fromEnv.baseUrl, fake.url);
    assert.is(fromEnv.graphqlUrl, `${fake.url}/graphql`);
    assert.is((await ensureRepo(fromEnv, 'alice/env-check')).created, true);
    assert.not.match(JSON.stringify(fromEnv), TOKEN);
  } finally {
    for (const [key, value] of [['GH_TOKEN', saved.token], ['BM_GITHUB_API_URL', saved.url]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

test('ensureRepo creates a private user repo once, then reuses it; the clone URL takes a push', async () => {
  const first = await ensureRepo(gh, 'alice/team', { private: true, description: 'bm team' });
  assert.is(first.created, true);
  assert.is(first.fullName, 'alice/team');
  assert.is(first.htmlUrl, 'https://github.com/alice/team');
  assert.is(first.defaultBranch, 'main');
  const created = fake.requests.find((r) => r.method === 'POST' && r.path === '/user/repos');
  assert.ok(created, 'POST /user/repos was sent');
  assert.equal(created.body, { name: 'team', private: true, description: 'bm team', auto_init: false });
  assert.is(fake.repos.get('alice/team')?.private, true);

  const before = fake.requests.length;
  const second = await ensureRepo(gh, 'alice/team');
  assert.is(second.created, false);
  assert.is(second.cloneUrl, first.cloneUrl);
  assert.equal(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['GET /repos/alice/team']);

  const work = await mkdtemp(join(tmpdir(), 'bm-gh-push-'));
  try {
    const git = (...args: string[]) => run('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
    await git('init', '--quiet', '--initial-branch=main');
    await git('commit', '--quiet', '--allow-empty', '-m', 'init');
    await git('push', '--quiet', first.cloneUrl, 'main');
    const { stdout } = await run('git', ['--git-dir', fake.repos.get('alice/team')!.bareDir, 'log', '--format=%s', 'main']);
    assert.is(stdout.trim(), 'init');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('ensureRepo creates under an organisation and refuses other users and unknown owners', async () => {
  const org = await ensureRepo(gh, 'acme/team');
  assert.is(org.created, true);
  assert.ok(fake.requests.some((r) => r.method === 'POST' && r.path === '/orgs/acme/repos'));
  assert.is((fake.repos.get('acme/team')?.owner as { type: string }).type, 'Organization');

  const other = await failure(() => ensureRepo(gh, 'bob/team'));
  assert.is(other.status, 403);
  assert.match(other.message, "another user's account");

  const missing = await failure(() => ensureRepo(gh, 'nobody-here/team'));
  assert.is(missing.status, 404);
  assert.match(formatError(missing), "Error: GitHub owner 'nobody-here' not found. Check the OWNER part");
  assert.is(fake.repos.size, 1);
});

test('ensureRepo treats a 422 on create as "already exists" and reuses the repo', async () => {
  await fake.addRepo('alice/raced');
  // The first GET misses (as if another run created the repo a moment later).
  fake.failNext('GET', /^\/repos\/alice\/raced$/, 404);
  const info = await ensureRepo(gh, 'alice/raced');
  assert.is(info.created, false);
  assert.is(info.fullName, 'alice/raced');
});

test("GitHub's errors as documented: a secondary limit without retry-after waits a minute; a 422 shows errors[].message; missing scopes are named first", async () => {
  fake.failNext('GET', /\/repos\/alice\/x$/, 403, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits' });
  const secondary = await ensureRepo(gh, 'alice/x').then(() => undefined, (e: unknown) => e as GitHubError);
  assert.ok(secondary instanceof GitHubError);
  assert.is(secondary.retryAfterSeconds, 60, 'no retry-after: at least a minute');
  assert.match(secondary.message, /secondary rate limit/);
  assert.not.match(secondary.hint, /scope/, 'not mistaken for a token-scope problem');

  fake.failNext('POST', /\/user\/repos$/, 422, { message: 'Repository creation failed.', errors: [{ resource: 'Repository', code: 'custom', field: 'name', message: 'name is too long (maximum is 100 characters)' }] });
  const invalid = await ensureRepo(gh, 'alice/y').then(() => undefined, (e: unknown) => e as GitHubError);
  assert.match(invalid?.message ?? '', /Repository creation failed\.: name is too long \(maximum is 100 characters\)/);
  assert.not.match(invalid?.message ?? '', /already exists/);

  await checkTokenScopes(gh, ['repo', 'project']);
  const narrow = await startFakeGitHub({ login: 'alice', token: TOKEN, scopes: ['repo', 'read:project'] });
  try {
    const narrowGh = await createGitHub({ token: TOKEN, baseUrl: narrow.url });
    const missing = await checkTokenScopes(narrowGh, ['repo', 'project']).then(() => undefined, (e: unknown) => e as GitHubError);
    assert.match(missing?.message ?? '', /The token lacks the `project` scope \(it has: repo, read:project\); nothing was created/);
    assert.is(narrow.requests.filter((r) => r.method !== 'GET').length, 0);
  } finally {
    await narrow.close();
  }
});

test('ensureLabels creates labels, then updates them through the 422 already_exists path', async () => {
  await ensureRepo(gh, 'alice/team');
  const specs = [
    { name: 'kind/epic', color: '#0E8A16', description: 'An epic' },
    { name: 'kind/story', color: '1D76DB', description: 'A story' },
  ];
  const first = await ensureLabels(gh, 'alice/team', specs);
  assert.equal(first, { created: ['kind/epic', 'kind/story'], updated: [] });
  const epic = () => fake.labels.get('alice/team')!.find((l) => l.name === 'kind/epic')!;
  assert.is(epic().color, '0e8a16');

  const second = await ensureLabels(gh, 'alice/team', [{ ...specs[0], color: 'FBCA04', description: 'Epic (changed)' }, specs[1]]);
  assert.equal(second, { created: [], updated: ['kind/epic', 'kind/story'] });
  assert.is(epic().color, 'fbca04');
  assert.is(epic().description, 'Epic (changed)');
  assert.ok(fake.requests.some((r) => r.method === 'PATCH' && r.path === '/repos/alice/team/labels/kind%2Fepic'));
  assert.is(fake.labels.get('alice/team')!.filter((l) => l.name.startsWith('kind/')).length, 2);
});

test('ensureBoard creates the board with the Status options in order, and a re-run changes nothing', async () => {
  const first = await ensureBoard(gh, 'alice', 'team Board', STATUSES);
  assert.is(first.created, true);
  assert.is(first.number, 1);
  assert.is(first.url, 'https://github.com/users/alice/projects/1');
  assert.is(first.statusUpdated, true);
  assert.equal(first.statusOptions, STATUSES.map((s) => s.name));
  const field = fake.boards[0].fields.find((f) => f.name === 'Status')!;
  assert.equal(field.options!.map((o) => [o.name, o.color, o.description]),
    STATUSES.map((s) => [s.name, statusColor(s.name), s.description ?? '']));
  const operations = fake.requests.filter((r) => r.path === '/graphql').map((r) => (r.body as { operationName: string }).operationName);
  assert.equal(operations, ['BmOwner', 'BmBoards', 'BmCreateBoard', 'BmBoardFields', 'BmSetStatusOptions']);

  const before = fake.requests.length;
  const second = await ensureBoard(gh, 'alice', 'team Board', STATUSES);
  assert.equal(second, { ...first, created: false, statusUpdated: false });
  assert.is(fake.boards.length, 1);
  const again = fake.requests.slice(before).map((r) => (r.body as { operationName: string }).operationName);
  assert.equal(again, ['BmOwner', 'BmBoards', 'BmBoardFields']);

  const third = await ensureBoard(gh, 'alice', 'team Board', STATUSES.slice(0, 3));
  assert.is(third.statusUpdated, true);
  assert.equal(third.statusOptions, ['po:triage', 'arch:design', 'dev:implement']);
});

test('ensureBoard works for an organisation, pages through projects, and recreates a missing Status field', async () => {
  for (let i = 0; i < 101; i++) fake.boards.push({ id: `PVT_x${i}`, number: i + 1, title: `other ${i}`, url: '', owner: 'acme', closed: false, fields: [], items: [] });
  const board = await ensureBoard(gh, 'acme', 'team Board', STATUSES.slice(0, 2));
  assert.is(board.created, true);
  assert.is(board.url, 'https://github.com/orgs/acme/projects/102');
  assert.is(fake.requests.filter((r) => (r.body as { operationName?: string })?.operationName === 'BmBoards').length, 2);

  const created = fake.boards.find((b) => b.id === board.id)!;
  created.fields = created.fields.filter((f) => f.name !== 'Status');
  const again = await ensureBoard(gh, 'acme', 'team Board', STATUSES.slice(0, 2));
  assert.is(again.created, false);
  assert.equal(again.statusOptions, ['po:triage', 'arch:design']);
  assert.ok(fake.requests.some((r) => (r.body as { operationName?: string })?.operationName === 'BmCreateStatusField'));

  const missing = await failure(() => ensureBoard(gh, 'ghost', 'team Board', STATUSES));
  assert.is(missing.status, 404);
  assert.match(missing.message, "GitHub owner 'ghost' not found");
});

test('GitHub Enterprise base URL: REST under /api/v3, GraphQL at /api/graphql', async () => {
  const ghe = await createGitHub({ token: TOKEN, baseUrl: `${fake.url}/api/v3` });
  assert.is((await ensureRepo(ghe, 'alice/ghe')).created, true);
  assert.is((await ensureBoard(ghe, 'alice', 'ghe Board', STATUSES)).created, true);
  assert.ok(fake.requests.some((r) => r.path === '/api/v3/repos/alice/ghe'));
  assert.ok(fake.requests.some((r) => r.path === '/api/graphql'));
  assert.not.ok(fake.requests.some((r) => r.path === '/api/v3/graphql'));
});

test('a bad token is a 401 GitHubError that says how to fix it and never shows the token', async () => {
  const wrong = `ghp_${'Z9y8X7w6'.repeat(5)}`;
  const bad = await createGitHub({ token: wrong, baseUrl: fake.url });
  const error = await failure(() => ensureRepo(bad, 'alice/team'));
  assert.is(error.status, 401);
  assert.match(error.message, 'bad or expired');
  assert.match(error.hint, 'GH_TOKEN');
  assert.match(error.hint, 'bm init');
  assert.not.match(formatError(error), wrong);
  assert.is(fake.requests[0].headers.authorization, `token ${wrong}`);

  const graphqlError = await failure(() => ensureBoard(bad, 'alice', 'x', STATUSES));
  assert.is(graphqlError.status, 401);
});

test('a 403 with x-ratelimit-remaining 0 says when the limit resets', async () => {
  const reset = Math.floor(Date.now() / 1000) + 600;
  fake.failNext('GET', /\/repos\//, 403, { message: 'API rate limit exceeded for user ID 1.' },
    { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
  const error = await failure(() => ensureRepo(gh, 'alice/team'));
  const when = new Date(reset * 1000).toISOString();
  assert.is(error.status, 403);
  assert.is(error.rateLimitResetAt, when);
  assert.match(error.message, `rate limit exceeded until ${when}`);
});

test('any other 403 is a scope problem, and GitHub\'s own text is redacted', async () => {
  const odd = 'plain-token-value-1234';
  const ghOdd = await createGitHub({ token: odd, baseUrl: fake.url });
  fake.failNext('POST', /\/labels$/, 403, { message: `Resource not accessible by ${TOKEN} or ${odd}` });
  await fake.addRepo('alice/team');
  const error = await failure(() => ensureLabels(ghOdd, 'alice/team', [{ name: 'kind/epic', color: 'ffffff' }]));
  assert.is(error.status, 403);
  assert.match(error.message, "create label 'kind/epic'");
  assert.match(error.hint, '`repo` and `project`');
  const printed = formatError(error);
  assert.not.match(printed, TOKEN);
  assert.not.match(printed, odd);
  assert.match(printed, 'Resource not accessible by ***');

  fake.failNext('POST', /graphql$/, 200, { errors: [{ type: 'INSUFFICIENT_SCOPES', message: "Your token has not been granted the required scopes: ['read:project']" }] });
  const scopes = await failure(() => ensureBoard(gh, 'alice', 'x', STATUSES));
  assert.is(scopes.status, 403);
  assert.match(scopes.hint, '`project`');
});

test('a 500 mid-init is "GitHub unavailable", and re-running completes the work', async () => {
  await ensureRepo(gh, 'alice/team');
  const specs = [{ name: 'kind/epic', color: '0E8A16' }, { name: 'kind/story', color: '1D76DB' }];
  fake.failNext('POST', /\/labels$/, 500);
  fake.failNext('POST', /\/labels$/, 500);
  const first = await failure(() => ensureLabels(gh, 'alice/team', specs));
  assert.is(first.status, 500);
  assert.match(formatError(first), 'GitHub is unavailable (HTTP 500)');
  assert.match(first.hint, 'Try again');
  // The second queued failure hits this run; the third run then completes the work.
  await failure(() => ensureLabels(gh, 'alice/team', specs));
  assert.equal(await ensureLabels(gh, 'alice/team', specs), { created: ['kind/epic', 'kind/story'], updated: [] });
});

test('an unreachable or silent server is reported with the base URL', async () => {
  const closed = await startFakeGitHub();
  const deadUrl = closed.url;
  await closed.close();
  const offline = await createGitHub({ token: TOKEN, baseUrl: deadUrl });
  const refused = await failure(() => readRepoEvents(offline, 'alice/team', NO_CURSOR));
  assert.is(refused.status, 0);
  assert.match(refused.message, `Cannot reach ${deadUrl} (ECONNREFUSED)`);

  const silent = createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const slowUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const slow = await createGitHub({ token: TOKEN, baseUrl: slowUrl, timeoutMs: 200 });
    const timedOut = await failure(() => readRepoEvents(slow, 'alice/team', NO_CURSOR));
    assert.is(timedOut.status, 0);
    assert.match(timedOut.message, `${slowUrl} did not answer in time`);
  } finally {
    (silent as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('readRepoEvents: one request, ETag, 304 that costs nothing, new events change the ETag', async () => {
  await ensureRepo(gh, 'alice/team');
  fake.pushEvent('PushEvent');
  fake.pushEvent('IssuesEvent', { action: 'opened' });

  let before = fake.requests.length;
  const first = await readRepoEvents(gh, 'alice/team', NO_CURSOR);
  assert.is(fake.requests.length - before, 1);
  const sent = fake.requests[fake.requests.length - 1];
  assert.is(sent.query.per_page, '100');
  assert.is(sent.headers['if-none-match'], undefined);
  assert.is(first.status, 200);
  assert.equal(first.events.map((e) => e.type), ['IssuesEvent', 'PushEvent']);
  assert.ok(BigInt(first.events[0].id) > BigInt(first.events[1].id));
  assert.match(first.events[0].created_at, /^\d{4}-\d\d-\d\dT/);
  assert.ok(first.etag?.startsWith('W/"'));
  assert.is(first.pollIntervalSeconds, 60);

  const remaining = fake.rateLimit.remaining;
  before = fake.requests.length;
  const second = await readRepoEvents(gh, 'alice/team', { etag: first.etag, cursor: null });
  assert.is(fake.requests.length - before, 1);
  assert.is(fake.requests[fake.requests.length - 1].headers['if-none-match'], first.etag);
  assert.is(second.status, 304);
  assert.equal(second.events, []);
  assert.is(second.etag, first.etag);
  assert.is(fake.rateLimit.remaining, remaining);

  fake.pushEvent('IssueCommentEvent');
  const third = await readRepoEvents(gh, 'alice/team', { etag: first.etag, cursor: null });
  assert.is(third.status, 200);
  assert.is(third.events[0].type, 'IssueCommentEvent');
  assert.is.not(third.etag, first.etag);
  assert.is(fake.rateLimit.remaining, remaining - 1);
});

test('readRepoEvents honours X-Poll-Interval and reports an exhausted rate limit', async () => {
  await ensureRepo(gh, 'alice/team');
  fake.failNext('GET', /\/events$/, 200, [], { 'x-poll-interval': '120', 'x-ratelimit-remaining': '42', 'x-ratelimit-reset': '1900000000' });
  const slow = await readRepoEvents(gh, 'alice/team', NO_CURSOR);
  assert.is(slow.pollIntervalSeconds, 120);

  fake.rateLimit.remaining = 0;
  const limited = await failure(() => readRepoEvents(gh, 'alice/team', NO_CURSOR));
  assert.is(limited.status, 403);
  assert.is(limited.rateLimitResetAt, new Date(fake.rateLimit.reset * 1000).toISOString());
  assert.match(limited.message, 'rate limit exceeded until');
});

test("the fake answers GraphQL from the query sent: unknown fields and inputs are refused, a missing node is a null with an error", async () => {
  const ask = (query: string, variables: Record<string, unknown> = {}) => fetch(`${fake.url}/graphql`, {
    method: 'POST', headers: { authorization: `bearer ${TOKEN}` }, body: JSON.stringify({ query, variables }),
  }).then((r) => r.json() as Promise<{ data?: Record<string, unknown> | null; errors?: { type?: string; message: string; path?: unknown[]; extensions?: { code?: string } }[] }>);
  assert.equal(await ask('query Any { viewer { login } }'), { data: { viewer: { login: 'alice' } } });
  const typo = await ask('query Typo { viewer { login emial } }');
  assert.is(typo.data, undefined, 'a query GitHub would not accept gets no data');
  assert.equal([typo.errors?.[0].message, typo.errors?.[0].extensions?.code], ["Field 'emial' doesn't exist on type 'User'", 'undefinedField']);
  const input = await ask('mutation Bad($id: ID!) { addComment(input: { issueId: $id, body: "x" }) { clientMutationId } }', { id: 'I_nope' });
  assert.equal([input.data, input.errors?.[0].extensions?.code], [undefined, 'argumentNotAccepted']);
  const missing = await ask('query Missing { node(id: "PVT_nope") { id } viewer { login } }');
  assert.equal(missing.data, { node: null, viewer: { login: 'alice' } }, 'the other fields are still answered');
  assert.equal([missing.errors?.[0].type, missing.errors?.[0].path], ['NOT_FOUND', ['node']]);
  const repo = await fetch(`${fake.url}/repos/alice/nothing`, { headers: { authorization: `token ${TOKEN}` } });
  assert.is(repo.status, 404);
  assert.equal(await repo.json(), { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
});

test.run();
