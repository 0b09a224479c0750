/**
 * The team repo's webhook, set up by `bm daemon start --public-url URL` through the fake
 * GitHub's hooks API: created once (JSON, the team's events and secret), GitHub's ping reaching
 * the running daemon, left alone on a second start, updated only when asked after it drifted,
 * and `bm daemon status` showing GitHub's last delivery to it. A repository hook never delivers
 * board moves: an organisation's board is polled until an organisation hook proves it does.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectTeam, daemonDir, daemonTeam, deliver, example, journal, waitFor, webhookSecret } from '../support/daemon.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'alpha';
const TOKEN = 'ghp_daemonhooktoken0000000000000000000000';
const EVENTS = ['issue_comment', 'issues', 'pull_request', 'pull_request_review', 'pull_request_review_comment'];

let sandbox: Sandbox;
let github: FakeGitHub;
let port: number;
let url: string;
let secret: string;

/** A port free right now, so the public URL can name it before the daemon listens on it. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
}

const env = () => ({ env: { BM_GITHUB_API_URL: github.url } });
const start = (...extra: string[]) => sandbox.bm(['daemon', 'start', '--port', String(port), '--public-url', url, ...extra], env());
const hookWrites = () => github.requests.filter((r) => /\/hooks/.test(r.path) && r.method !== 'GET').length;
const theHook = () => github.hooks.get('octocat/alpha')?.[0];
const status = () => sandbox.json<{ webhook?: { id: number; lastDelivery: { ok: boolean | null; code: number | null } | null } }>(['daemon', 'status', '--json'], env());

test.before(async () => {
  sandbox = createSandbox({ BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', BM_DAEMON_RECONCILE_S: '3600' });
  github = await startFakeGitHub({ token: TOKEN, orgs: ['acme'] });
  await github.addRepo('octocat/alpha');
  await daemonTeam(sandbox, TEAM, ['dev:alice']);
  connectTeam(sandbox, TEAM, 'octocat/alpha', TOKEN);
  secret = webhookSecret(sandbox, TEAM);
  port = await freePort();
  url = `http://127.0.0.1:${port}/webhook`;
});

test.after(async () => {
  await sandbox.bm(['daemon', 'stop']);
  await github.close();
  sandbox.cleanup();
});

test('--public-url needs webhook mode and an http(s) URL', async () => {
  const poll = await sandbox.bm(['daemon', 'start', '--mode', 'poll', '--public-url', url], env());
  assert.is(poll.code, 2, poll.stderr);
  assert.match(poll.stderr, /--public-url needs webhook mode/);
  const bad = await sandbox.bm(['daemon', 'start', '--public-url', 'ftp://example.com/x'], env());
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /Invalid public URL 'ftp:\/\/example\.com\/x'/);
});

test("--yes creates the hook; GitHub's ping reaches the daemon; status shows the last delivery; the secret is never printed", async () => {
  const started = await start('--yes');
  assert.is(started.code, 0, started.stderr);
  assert.match(started.stdout, /Created GitHub webhook \d+ of octocat\/alpha/);
  const hook = theHook();
  assert.ok(hook, 'one hook on the team repo');
  assert.equal([github.hooks.get('octocat/alpha')?.length, [...hook.events].sort(), hook.config.content_type, hook.config.url, hook.config.secret], [1, EVENTS, 'json', url, secret]);
  for (const text of [started.stdout, started.stderr, readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8')]) assert.not.ok(text.includes(secret), 'the secret is never printed or logged');

  await waitFor("GitHub's ping to reach the daemon", () => journal(sandbox, TEAM).some((e) => e.type === 'delivery' && e.outcome === 'ping'));
  await waitFor('GitHub to record the answer', () => theHook()?.last_response.code === 200);
  const json = await status();
  assert.equal([json.webhook?.id, json.webhook?.lastDelivery?.ok, json.webhook?.lastDelivery?.code], [hook.id, true, 200]);
  assert.match((await sandbox.ok(['daemon', 'status'], env())).stdout, new RegExp(`GitHub webhook: +${hook.id} of octocat/alpha to ${url}: last delivery succeeded \\(HTTP 200: OK`));

  await github.deliver('octocat/alpha', 'issues', example('issues', 'opened', 'octocat/alpha'));
  assert.ok(journal(sandbox, TEAM).some((e) => e.type === 'delivery' && e.event === 'issues' && e.outcome === 'wake'), "the hook's deliveries wake the team");
  await sandbox.ok(['daemon', 'stop']);
});

test('a second start changes nothing; a drifted hook is updated only when asked; a token without hook rights is a warning', async () => {
  const writes = hookWrites();
  const again = await start('--yes');
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /GitHub webhook \d+ of octocat\/alpha already delivers to/);
  assert.is(hookWrites(), writes, 'idempotent: no create or update');
  await sandbox.ok(['daemon', 'stop']);

  // Someone changed the events and the secret on GitHub: the daemon now refuses its deliveries.
  const hook = theHook()!;
  hook.events = ['issues', 'push'];
  hook.config.content_type = 'form';
  hook.config.secret = 'not-the-team-secret';
  const asked = await start();
  assert.is(asked.code, 0, asked.stderr);
  assert.match(asked.stderr, /Update webhook \d+ of octocat\/alpha \(it does not send issue_comment, pull_request, .*\).*not done without a terminal.*--yes/);
  assert.is(hookWrites(), writes, 'nothing changed without --yes');
  await github.deliver('octocat/alpha', 'issues', example('issues', 'opened', 'octocat/alpha'));
  assert.is(hook.last_response.code, 401, 'the daemon refuses a delivery signed with another secret');
  assert.match((await sandbox.ok(['daemon', 'status'], env())).stdout, /last delivery failed \(HTTP 401/);
  await sandbox.ok(['daemon', 'stop']);

  const fixed = await start('--yes');
  assert.is(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /Updated GitHub webhook \d+ of octocat\/alpha/);
  assert.equal([github.hooks.get('octocat/alpha')?.length, [...hook.events].sort(), hook.config.content_type, hook.config.secret], [1, [...EVENTS, 'push'].sort(), 'form', secret],
    "bm's events added, the operator's own (push) and form content type kept, the secret set again");
  await waitFor('the ping after the update to succeed', () => hook.last_response.code === 200);
  await sandbox.ok(['daemon', 'stop']);

  github.failNext('GET', /\/hooks$/, 404);
  const denied = await start('--yes');
  assert.is(denied.code, 0, 'the daemon runs anyway');
  assert.match(denied.stderr, /the GitHub webhook was not set up: Not found while trying to list the webhooks of octocat\/alpha\. .*admin:repo_hook/);
  await sandbox.ok(['daemon', 'stop']);
});

test("an organisation's board is polled in webhook mode until an organisation hook delivers its moves", async () => {
  await github.addRepo('acme/alpha');
  const board = github.addBoard('acme', 'alpha Board');
  const issue = github.addIssue({ repo: 'acme/alpha', title: 'on the board', board: 'alpha Board', status: 'Todo' });
  connectTeam(sandbox, TEAM, 'acme/alpha', TOKEN);
  const mark = journal(sandbox, TEAM).length;
  const since = (type: string) => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === type);
  const log = () => readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8');
  const fast = { env: { BM_GITHUB_API_URL: github.url, BM_DAEMON_RECONCILE_S: '1' } };
  const started = await sandbox.ok(['daemon', 'start', '--port', '0'], fast);
  const daemonPort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(started.stdout)?.[1]);
  await waitFor('the board to be remembered', () => since('board.poll').some((e) => e.initial === true), 15_000);
  assert.match((await sandbox.ok(['daemon', 'status', '-v'], fast)).stdout, /organisation-owned: its moves are read by polling/);
  github.moveItem(issue, 'alpha Board', 'In Progress');
  await waitFor('the board poll to see the move', () => since('board.poll').some((e) => e.moves === 1), 15_000);

  const move = example('projects_v2_item', 'edited');
  (move.projects_v2_item as Record<string, unknown>).project_node_id = board.id;
  assert.is(JSON.parse((await deliver(daemonPort, secret, 'projects_v2_item', move)).body).outcome, 'wake');
  await waitFor('the board poll to stop', () => /an organisation hook delivers the moves of board .*; the board poll stops/.test(log()));
  const status = await sandbox.json<{ board: { polled?: boolean } }>(['daemon', 'status', '--json'], fast);
  assert.is(status.board.polled, false);
  await sandbox.ok(['daemon', 'stop']);

  const restarted = journal(sandbox, TEAM).length;
  await sandbox.ok(['daemon', 'start', '--port', '0'], fast);
  const after = await sandbox.json<{ board: { polled?: boolean } }>(['daemon', 'status', '--json'], fast);
  assert.not.ok(after.board.polled, 'the journal remembers the organisation hook across restarts');
  assert.is(journal(sandbox, TEAM).slice(restarted).filter((e) => e.type === 'board.poll').length, 0);
  await sandbox.ok(['daemon', 'stop']);
});

test.run();
