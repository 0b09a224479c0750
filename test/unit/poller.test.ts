/**
 * The poller against the fake GitHub, one poll at a time (pollOnce, no timers): the figures
 * status shows (events counted, the interval really used and why) and no false gap for the
 * first event of a repository whose timeline was empty.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Judgement, TeamCoordinates } from '../../lib/daemon/events.ts';
import { Journal } from '../../lib/daemon/journal.ts';
import { Logger, RotatingFile } from '../../lib/daemon/log.ts';
import { BoardPoller } from '../../lib/daemon/board.ts';
import { Poller } from '../../lib/daemon/poller.ts';
import { createGitHub, readBoardItems } from '../../lib/github.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';

const TOKEN = 'ghp_pollerunittoken000000000000000000000000';
let dir: string;
let github: FakeGitHub;

test.before.each(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-poller-'));
  github = await startFakeGitHub({ token: TOKEN });
});
test.after.each(async () => {
  await github.close();
  rmSync(dir, { recursive: true, force: true });
});

async function poller(intervalSeconds: number) {
  const gh = await createGitHub({ token: TOKEN, baseUrl: github.url });
  const seen: Judgement[][] = [];
  const wakes: { what: string; self: boolean }[] = [];
  const coordinates: TeamCoordinates = { repos: new Set(['octocat/alpha']), board: null, identity: 'octocat' };
  const p = new Poller({
    gh, repo: 'octocat/alpha', intervalSeconds, cursorFile: path.join(dir, 'poll.json'), events: new Set(['issues', 'issue_comment']), coordinates,
    log: new Logger(new RotatingFile(path.join(dir, 'daemon.log'), 1 << 20)), journal: new Journal(path.join(dir, 'journal.jsonl'), 1 << 20), role: 'poll',
    wake: (what, self) => wakes.push({ what, self }), seen: (judged) => seen.push(judged),
  });
  const journal = () => readFileSync(path.join(dir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { p, seen, wakes, journal };
}

test('an empty timeline, then a first event: counted, woken, no false gap', async () => {
  await github.addRepo('octocat/alpha');
  const { p, seen, wakes, journal } = await poller(30);
  assert.is(await p.pollOnce(), 60_000, "GitHub's X-Poll-Interval (60 s) wins over 30 s");
  assert.equal(p.effective, { seconds: 60, why: "GitHub's X-Poll-Interval (60s) is longer than the 30s asked for" });
  assert.is(journal()[0].cursor, '0', 'an empty timeline sets the cursor at 0');
  github.pushEvent('IssuesEvent', { action: 'opened' });
  github.pushEvent('IssueCommentEvent', { action: 'created' }, undefined, 'octocat');
  await p.pollOnce();
  const last = journal().at(-1);
  assert.equal([last?.fresh, last?.waking, last?.gap], [2, 1, undefined], 'no gap: nothing can have been missed');
  assert.equal(seen.map((s) => s.length), [2], 'both events counted');
  assert.equal(seen[0].map((j) => (j.wake ? 'wake' : j.reason)), ['self', 'wake'], "newest first: the team's own comment, then a collaborator's issue");
  assert.equal(wakes.map((w) => w.self), [false]);
});

test('the interval asked for when it is longer than X-Poll-Interval', async () => {
  await github.addRepo('octocat/alpha');
  const { p } = await poller(120);
  assert.is(await p.pollOnce(), 120_000);
  assert.equal(p.effective, { seconds: 120, why: "the interval asked for (GitHub's X-Poll-Interval is 60s)" });
});

test('board poll: one query, remembers first, then wakes for Status moves only; the fake answers what the query asks', async () => {
  await github.addRepo('octocat/alpha');
  const board = github.addBoard('octocat', 'alpha Board');
  const issue = github.addIssue({ title: 'one', board: 'alpha Board', status: 'Todo' });
  github.addIssue({ title: 'two', board: 'alpha Board' });
  const gh = await createGitHub({ token: TOKEN, baseUrl: github.url });
  const read = await readBoardItems(gh, board.id);
  assert.equal(read.items.map((i) => [i.status, i.ref]), [['Todo', 'octocat/alpha#1'], [null, 'octocat/alpha#2']]);
  assert.is(read.pages, 1);

  const wakes: string[] = [];
  let seen = 0;
  const p = new BoardPoller({
    gh, board: board.id, intervalSeconds: 30, stateFile: path.join(dir, 'board.json'),
    log: new Logger(new RotatingFile(path.join(dir, 'daemon.log'), 1 << 20)), journal: new Journal(path.join(dir, 'journal.jsonl'), 1 << 20),
    wake: (what) => wakes.push(what), seen: (n) => (seen += n),
  });
  const before = github.requests.length;
  assert.is(await p.pollOnce(), 30_000);
  assert.is(github.requests.length - before, 1, 'one query per poll');
  assert.equal(wakes, [], 'the first poll only remembers');
  await new Promise((resolve) => setTimeout(resolve, 5));
  github.moveItem(issue, 'alpha Board', 'In Progress');
  await p.pollOnce();
  assert.equal([wakes, seen], [['board: 1 Status change(s) (octocat/alpha#1 → In Progress)'], 1]);
  await p.pollOnce();
  assert.is(wakes.length, 1, 'nothing moved since');

  const bad = await fetch(`${github.url}/graphql`, { method: 'POST', headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ query: `query BmBoardItems($board: ID!) { node(id: $board) { ... on ProjectV2 { items(first: 1) { nodes { id assignee } } } } }`, variables: { board: board.id } }) });
  const answer = await bad.json() as { errors?: { message: string }[] };
  assert.match(answer.errors?.[0].message ?? '', /Field 'assignee' doesn't exist on type 'ProjectV2Item'/);
});

test('GraphQL RATE_LIMITED waits until x-ratelimit-reset', async () => {
  await github.addRepo('octocat/alpha');
  const board = github.addBoard('octocat', 'alpha Board');
  const reset = Math.floor(Date.now() / 1000) + 600;
  github.failNext('POST', /graphql/, 200, { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded for user ID 1.' }] }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
  const gh = await createGitHub({ token: TOKEN, baseUrl: github.url });
  const p = new BoardPoller({
    gh, board: board.id, intervalSeconds: 30, stateFile: path.join(dir, 'board.json'),
    log: new Logger(new RotatingFile(path.join(dir, 'daemon.log'), 1 << 20)), journal: new Journal(path.join(dir, 'journal.jsonl'), 1 << 20),
    wake: () => undefined, seen: () => undefined,
  });
  const wait = await p.pollOnce();
  assert.ok(wait >= reset * 1000 - Date.now(), `waits until the reset (${wait} ms)`);
  assert.match(readFileSync(path.join(dir, 'daemon.log'), 'utf8'), new RegExp(`resets at ${new Date(reset * 1000).toISOString()}`));
});

test.run();
