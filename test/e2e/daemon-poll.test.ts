/**
 * The daemon's other two doors, with real processes and real HTTP on loopback:
 *
 * - poll mode against the fake GitHub (behind a small proxy that lets the test choose GitHub's
 *   X-Poll-Interval): cursor initialisation without replay, ETag and 304, relevant and
 *   irrelevant events, X-Poll-Interval, 403 rate-limit backoff, a cursor that survives restarts;
 * - the smee tunnel against a local SSE server standing in for smee.io: a refused first connect,
 *   forwarding, a dropped stream and reconnect, and a forged (unsigned) event.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLines } from '../support/wait.ts';
import { connectTeam, daemonDir, daemonJson, daemonTeam, example, journal, waitFor, webhookSecret } from '../support/daemon.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'alpha';
const TOKEN = 'ghp_daemonpolltoken0000000000000000000000';
const FAST = { BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '200' };

let sandbox: Sandbox;
let stubLog: string;
let github: FakeGitHub;

interface Call { argv: string[]; cwd: string }
const runCalls = (): Call[] => jsonLines<Call>(stubLog).filter((c) => c.argv[0] === 'run');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const connect = (repo: string) => connectTeam(sandbox, TEAM, repo, TOKEN);
const count = (type: string) => journal(sandbox, TEAM).filter((e) => e.type === type).length;
/** Runs take seconds on a loaded machine: a member's run is awaited this long. */
const RUN_MS = 30_000;
/**
 * No run in progress and none waiting, so that a stop leaves no unfinished work behind (which
 * the next start would run again): daemon.json is written after the daemon decides on work
 * that arrived during a run.
 */
const settled = () => waitFor('runs to end', () => {
  const record = daemonJson(sandbox, TEAM) as { inProgress?: number; waiting?: number };
  return count('run.end') === count('run.start') && record.inProgress === 0 && record.waiting === 0;
}, RUN_MS);

/** One request for the events endpoint as the proxy saw it. */
interface Seen { at: number; url: string; status: number; ifNoneMatch: string | undefined; etag: string | undefined }

/** A pass-through proxy to the fake GitHub that can rewrite X-Poll-Interval (and points page links at itself, as a reverse proxy does). */
async function pollProxy(target: string): Promise<{ url: string; seen: Seen[]; pollInterval: { value: string }; close(): void }> {
  const seen: Seen[] = [];
  const pollInterval = { value: '1' };
  let self = '';
  const server = createServer((req, res) => {
    const upstream = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
      const headers = { ...answer.headers };
      if (headers['x-poll-interval']) headers['x-poll-interval'] = pollInterval.value;
      if (typeof headers.link === 'string') headers.link = headers.link.split(target).join(self);
      if (/\/events/.test(req.url ?? '')) {
        seen.push({ at: Date.now(), url: req.url ?? '', status: answer.statusCode ?? 0, ifNoneMatch: req.headers['if-none-match'] as string | undefined, etag: answer.headers.etag });
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: self, seen, pollInterval, close: () => server.close() };
}

test.before(async () => {
  sandbox = createSandbox(FAST);
  stubLog = path.join(sandbox.dir, 'stub-calls.jsonl');
  sandbox.env.BM_STUB_LOG = stubLog;
  await daemonTeam(sandbox, TEAM, ['dev:alice', 'qe:quinn']);
  github = await startFakeGitHub({ token: TOKEN });
});

test.after.each(async () => {
  // Every test leaves the daemon stopped; a failed one may not have.
  if ((await sandbox.json<{ running: boolean }>(['daemon', 'status', '--json'])).running) await sandbox.bm(['daemon', 'stop']);
});

test.after(async () => {
  await sandbox.bm(['daemon', 'stop']);
  await github.close();
  sandbox.cleanup();
});

test('poll mode: cursor without replay, ETag and 304, wake-up events, X-Poll-Interval, rate limit, restart', async () => {
  await github.addRepo('octocat/alpha');
  connect('octocat/alpha');
  github.pushEvent('IssuesEvent', { action: 'opened' });
  github.pushEvent('IssueCommentEvent', { action: 'created' });
  const proxy = await pollProxy(github.url);
  const env = { BM_GITHUB_API_URL: proxy.url };
  try {
    const started = await sandbox.ok(['daemon', 'start', '--mode', 'poll', '--interval', '1'], { env });
    assert.match(started.stdout, /Daemon started \(PID \d+\), polling octocat\/alpha every 1s/);
    const polls = () => journal(sandbox, TEAM).filter((e) => e.type === 'poll');

    await waitFor('the first poll', () => polls().length >= 1);
    assert.equal(polls()[0].initial, true, 'the first poll only sets the cursor');
    await waitFor('a second poll', () => proxy.seen.length >= 2);
    assert.is(proxy.seen[0].ifNoneMatch, undefined);
    assert.is(proxy.seen[1].ifNoneMatch, proxy.seen[0].etag, 'the ETag goes back exactly as received');
    assert.is(proxy.seen[1].status, 304);
    assert.is(runCalls().length, 0, 'history is not replayed');
    const cursor = JSON.parse(readFileSync(path.join(daemonDir(sandbox, TEAM), 'poll.json'), 'utf8')) as { last_event_id: string; etag: string };
    assert.is(cursor.last_event_id, github.events[0].id);

    github.pushEvent('PullRequestEvent', { action: 'opened' });
    await waitFor('both members to run', () => runCalls().length === 2, RUN_MS);
    github.pushEvent('WatchEvent', { action: 'started' });
    await waitFor('the star to be polled', () => polls().some((p) => p.fresh === 1 && p.waking === 0));
    await sleep(400);
    assert.is(runCalls().length, 2, 'a star wakes nobody');

    proxy.pollInterval.value = '3';
    const mark = proxy.seen.length;
    await waitFor('two polls under X-Poll-Interval 3', () => proxy.seen.length >= mark + 2, 10_000);
    const gap = proxy.seen[mark + 1].at - proxy.seen[mark].at;
    assert.ok(gap >= 2900, `polled ${gap} ms after GitHub asked for 3 s (interval flag 1 s)`);
    proxy.pollInterval.value = '1';
    await waitFor('one more poll', () => proxy.seen.length >= mark + 3, 5000);

    github.rateLimit.remaining = 0;
    github.rateLimit.reset = Math.floor(Date.now() / 1000) + 3;
    github.pushEvent('IssuesEvent', { action: 'edited' });
    await waitFor('a rate-limited poll', () => proxy.seen.some((s) => s.status === 403), 5000);
    const limited = proxy.seen.findIndex((s) => s.status === 403);
    const resetAt = github.rateLimit.reset * 1000;
    await waitFor('polling to resume after the reset', () => proxy.seen.length > limited + 1, 8000);
    assert.ok(proxy.seen[limited + 1].at >= resetAt, `no request before the reset (next at ${proxy.seen[limited + 1].at - resetAt} ms from it)`);
    assert.is(proxy.seen.filter((s) => s.status === 403).length, 1, 'one request hit the limit, then bm waited');
    await waitFor('the edit to run both members', () => runCalls().length === 4, RUN_MS);
    await settled();
    assert.is(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8').split('rate limit used up').length - 1, 1, 'a single warning');
    assert.not.ok(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8').includes(TOKEN), 'the token is never logged');

    await sandbox.ok(['daemon', 'stop']);
    assert.ok(existsSync(path.join(daemonDir(sandbox, TEAM), 'poll.json')), 'the cursor survives stop');
    github.pushEvent('IssuesEvent', { action: 'closed' });
    const before = journal(sandbox, TEAM).length;
    await sandbox.ok(['daemon', 'start', '--mode', 'poll', '--interval', '1'], { env });
    await waitFor('the first poll after the restart', () => journal(sandbox, TEAM).slice(before).some((e) => e.type === 'poll'));
    const after = journal(sandbox, TEAM).slice(before).find((e) => e.type === 'poll');
    assert.not.ok(after?.initial, 'the cursor was kept, not re-initialised');
    await waitFor('the event missed while stopped to run both members', () => runCalls().length === 6, RUN_MS);
    await settled();
    await sandbox.ok(['daemon', 'stop']);
  } finally {
    proxy.close();
  }
});

/** A local stand-in for a smee.io channel: an SSE stream that relays what the test sends. */
async function smeeChannel(): Promise<{ url: string; connects: () => number; send(headers: Record<string, string>, body: unknown): void; drop(): void; close(): void }> {
  const clients = new Set<ServerResponse>();
  let connects = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || req.url !== '/channel') {
      res.writeHead(404).end();
      return;
    }
    connects++;
    // The first connection is refused, as smee.io does when it is overloaded.
    if (connects === 1) {
      res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 200\n\nevent: ready\ndata: {}\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const drop = () => {
    for (const res of clients) res.socket?.destroy();
    clients.clear();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/channel`,
    connects: () => connects,
    send(headers, body) {
      for (const res of clients) res.write(`data: ${JSON.stringify({ ...headers, body, timestamp: Date.now() })}\n\n`);
    },
    drop,
    close() {
      drop();
      server.close();
    },
  };
}

test('tunnel: a smee channel is forwarded, supervised through a refused connect and a dropped stream; forged events are rejected', async () => {
  const channel = await smeeChannel();
  const secret = webhookSecret(sandbox, TEAM);
  const connectedClients = () => channel.connects();
  try {
    const before = runCalls().length;
    await sandbox.ok(['daemon', 'start', '--port', '0', '--tunnel', channel.url], { env: { BM_DAEMON_RECONCILE_S: '3600', BM_GITHUB_API_URL: github.url } });
    const state = async () => (await sandbox.json<{ tunnel?: string; tunnelState?: string }>(['daemon', 'status', '--json']));
    assert.is((await state()).tunnel, channel.url);
    const pid = (await sandbox.json<{ pid: number }>(['daemon', 'status', '--json'])).pid;
    assert.not.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(channel.url), 'the channel URL is not on the daemon\'s command line');
    await waitFor('the tunnel to connect after the refused first attempt', () => connectedClients() >= 2, 10_000);
    await waitFor('daemon status to show the tunnel up', () => {
      const file = path.join(daemonDir(sandbox, TEAM), 'daemon.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { tunnelState?: string }).tunnelState === 'up';
    });
    assert.match(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8'), /WARN tunnel: cannot connect .*reconnecting in/);

    assert.ok(journal(sandbox, TEAM).some((e) => e.type === 'start' && e.mode === 'webhook'));
    await waitFor('the reconcile poll that runs alongside webhook mode', () => readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8').includes('reconcile of octocat/alpha every 3600s'));
    // The team's own repository: deliveries about other repositories wake nobody.
    const payload = example('issues', 'opened', 'octocat/alpha');
    const headers = async (id: string): Promise<Record<string, string>> => ({
      'x-github-event': 'issues', 'x-github-delivery': id, 'x-hub-signature-256': await sign(secret, JSON.stringify(payload)), 'content-type': 'application/json',
    });
    channel.send(await headers('tunnel-1'), payload);
    await waitFor('the forwarded delivery to run both members', () => runCalls().length === before + 2, RUN_MS);

    channel.send({ 'x-github-event': 'issues', 'x-github-delivery': 'forged-1', 'content-type': 'application/json' }, payload);
    await waitFor('the forged event to be rejected', () => daemonJson<{ rejected?: number }>(sandbox, TEAM).rejected === 1);

    const connectsBefore = connectedClients();
    channel.drop();
    await waitFor('the client to reconnect', () => connectedClients() > connectsBefore, 10_000);
    await sleep(200);
    await waitFor('the previous runs to end', () => journal(sandbox, TEAM).filter((e) => e.type === 'run.end').length >= journal(sandbox, TEAM).filter((e) => e.type === 'run.start').length);
    channel.send(await headers('tunnel-2'), payload);
    await waitFor('a delivery after the reconnect to run both members', () => runCalls().length === before + 4, RUN_MS);
    await settled();
    await sandbox.ok(['daemon', 'stop']);
  } finally {
    channel.close();
  }
});

test('poll mode reads the next pages up to the cursor: a relevant event behind 150 others wakes the team; a gap wakes it once', async () => {
  const repo = await github.addRepo('octocat/paged');
  connect('octocat/paged');
  const proxy = await pollProxy(github.url);
  try {
    const mark = journal(sandbox, TEAM).length;
    const polls = () => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'poll');
    github.pushEvent('IssuesEvent', { action: 'opened' });
    await sandbox.ok(['daemon', 'start', '--mode', 'poll', '--interval', '1'], { env: { BM_GITHUB_API_URL: proxy.url } });
    await waitFor('the cursor to be set', () => polls().some((p) => p.initial === true));
    assert.is(polls()[0].pages, 1, 'setting the cursor reads one page');
    await settled();

    const before = runCalls().length;
    const firstSeen = proxy.seen.length;
    github.pushEvent('IssueCommentEvent', { action: 'created' });
    for (let i = 0; i < 150; i++) github.pushEvent('WatchEvent', { action: 'started' });
    await waitFor('the poll that reads them', () => polls().some((p) => typeof p.fresh === 'number' && p.fresh > 0), 10_000);
    await waitFor('the comment behind 150 stars to run both members', () => runCalls().length === before + 2, RUN_MS);
    const paged = polls().find((p) => typeof p.fresh === 'number' && p.fresh > 0);
    assert.equal([paged?.pages, paged?.fresh, paged?.waking, paged?.gap], [2, 151, 1, undefined]);
    const pageTwo = proxy.seen.slice(firstSeen).find((s) => /page=2/.test(s.url));
    assert.ok(pageTwo, 'page 2 was requested');
    assert.match(pageTwo.url, new RegExp(`^/repositories/${repo.id}/events\\?per_page=100&page=2$`), 'through the link GitHub sent');
    assert.is(pageTwo.ifNoneMatch, undefined, 'only the first page is conditional');
    await settled();

    const quiet = runCalls().length;
    for (let i = 0; i < 320; i++) github.pushEvent('WatchEvent', { action: 'started' });
    await waitFor('the gap to be seen', () => polls().some((p) => p.gap === true), 10_000);
    const gap = polls().find((p) => p.gap === true);
    assert.equal([gap?.pages, gap?.fresh, gap?.waking], [3, 300, 0], 'all 300 events read, the cursor not among them');
    assert.match(readFileSync(path.join(daemonDir(sandbox, TEAM), 'daemon.log'), 'utf8'), /gap detected: event \d+ is no longer in the timeline/);
    await waitFor('the gap to wake both members once', () => runCalls().length === quiet + 2, RUN_MS);
    await settled();
    await sandbox.ok(['daemon', 'stop']);
  } finally {
    proxy.close();
  }
});

test("poll mode: a move on the team's (user-owned) board wakes the team; another team's board does not", async () => {
  await github.addRepo('octocat/boarded');
  connect('octocat/boarded');
  github.addBoard('octocat', 'alpha Board');
  github.addBoard('octocat', 'beta Board');
  const ours = github.addIssue({ repo: 'octocat/boarded', title: 'ours', board: 'alpha Board', status: 'Todo' });
  const theirs = github.addIssue({ repo: 'octocat/boarded', title: 'theirs', board: 'beta Board', status: 'Todo' });
  const mark = journal(sandbox, TEAM).length;
  const since = (type: string) => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === type);
  await sandbox.ok(['daemon', 'start', '--mode', 'poll', '--interval', '1'], { env: { BM_GITHUB_API_URL: github.url } });
  await waitFor('the board to be remembered', () => since('board.poll').some((e) => e.initial === true), 15_000);
  // (Runs of work an earlier test left unfinished may be under way.)
  await waitFor('runs to end', () => since('run.end').length === since('run.start').length, 30_000);
  const before = runCalls().length;
  const moved = journal(sandbox, TEAM).length;
  github.moveItem(theirs, 'beta Board', 'Done');
  await waitFor('two more board polls', () => since('board.poll').length >= 3, 15_000);
  assert.is(runCalls().length, before, "another team's board wakes nobody");
  github.moveItem(ours, 'alpha Board', 'In Progress');
  await waitFor('the move to run both members', () => runCalls().length === before + 2, 30_000);
  assert.ok(journal(sandbox, TEAM).slice(moved).filter((e) => e.type === 'run.start').every((e) => /board: 1 Status change\(s\) \(octocat\/boarded#\d+ → In Progress\)/.test(String(e.reason))));
  const status = await sandbox.json<{ events: number; effectiveInterval: { seconds: number; why: string } }>(['daemon', 'status', '--json']);
  assert.ok(status.events >= 1, 'the move counts as an event');
  assert.equal(status.effectiveInterval, { seconds: 60, why: "GitHub's X-Poll-Interval (60s) is longer than the 1s asked for" });
  await waitFor('the runs to end', () => since('run.end').length === since('run.start').length, 30_000);
  await sandbox.ok(['daemon', 'stop']);
});

test("poll mode also reads each project repo's events, conditionally, with a cursor of its own", async () => {
  await github.addRepo('octocat/team-repo');
  await github.addRepo('octocat/widget');
  connect('octocat/team-repo');
  // The team's manifest lives in its team repo checkout; a project on GitHub makes its repo the team's.
  const manifest = path.join(sandbox.workzone, TEAM, 'team', 'botminter.yml');
  const original = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, `${original}\nprojects:\n  - name: widget\n    fork_url: https://github.com/octocat/widget.git\n`);
  const proxy = await pollProxy(github.url);
  try {
    const mark = journal(sandbox, TEAM).length;
    const since = (type: string) => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === type);
    const widgetPolls = () => since('poll').filter((e) => e.repo === 'octocat/widget');
    const seen = github.requests.length;
    await sandbox.ok(['daemon', 'start', '--mode', 'poll', '--interval', '1'], { env: { BM_GITHUB_API_URL: proxy.url } });
    await waitFor('both cursors to be set', () => widgetPolls().some((e) => e.initial === true) && since('poll').some((e) => e.repo === 'octocat/team-repo' && e.initial === true), 15_000);
    await waitFor('a conditional poll of the project repo', () => widgetPolls().some((e) => e.status === 304), 15_000);
    const asked = github.requests.slice(seen).filter((r) => r.path === '/repos/octocat/widget/events');
    assert.is(asked[0].headers['if-none-match'], undefined);
    assert.ok(asked.slice(1).every((r) => typeof r.headers['if-none-match'] === 'string'), 'every later poll sends the ETag back');
    assert.ok(existsSync(path.join(daemonDir(sandbox, TEAM), 'poll.octocat.widget.json')), 'the project repo has a cursor file of its own');

    github.pushEvent('IssuesEvent', { action: 'opened' }, 'octocat/widget');
    await waitFor("the project repo's issue to wake the team", () => widgetPolls().some((e) => e.waking === 1), 15_000);
    // The project is not synced, so the members are woken but have no workspace to run in.
    await waitFor('both members to be woken', () => since('run.skip').filter((e) => e.why === 'no workspace').length >= 2, 15_000);
    github.pushEvent('WatchEvent', { action: 'started' }, 'octocat/widget');
    await waitFor('the star to be read', () => widgetPolls().some((e) => e.fresh === 1 && e.waking === 0), 15_000);
    // The counters reach daemon.json a moment after the journal (the daemon batches its rewrites).
    const counted = () => daemonJson<{ events: number; ignored?: number }>(sandbox, TEAM);
    await waitFor('the star to be counted', () => counted().events >= 2 && (counted().ignored ?? 0) >= 1, 15_000);
    const status = await sandbox.json<{ events: number; ignored: number }>(['daemon', 'status', '--json']);
    assert.ok(status.events >= 2 && status.ignored >= 1, JSON.stringify(status));
    await sandbox.ok(['daemon', 'stop']);
  } finally {
    proxy.close();
    writeFileSync(manifest, original);
  }
});

test.run();
