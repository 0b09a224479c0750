/**
 * The daemon's small pure parts: signature verification (GitHub's official test vector and
 * malformed headers), event names and wake-up rules, the poll cursor file, the delivery-id
 * memory, work a previous daemon left unfinished, Link header parsing, and log rotation that
 * keeps inherited file descriptors writing into the current file.
 */
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_EVENTS, githubSlugOf, isWakeEvent, judge, polledFacts, teamRepos, wakeEvents, webhookFacts, webhookName, type TeamCoordinates } from '../../lib/daemon/events.ts';
import { wakeCases } from '../support/wake-table.ts';
import { IDLE_LIMIT, OWN_EVENT_GRACE_MS, RunBudget, WorkTracker } from '../../lib/daemon/budget.ts';
import { nextLink } from '../../lib/github.ts';
import { recentDeliveries, unfinishedWork } from '../../lib/daemon/journal.ts';
import { RotatingFile } from '../../lib/daemon/log.ts';
import { readCursor } from '../../lib/daemon/poller.ts';
import { signatureSelfTest, signBody, verifySignature } from '../../lib/daemon/signature.ts';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-daemon-unit-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test("signature: GitHub's documented test vector", () => {
  const body = Buffer.from('Hello, World!');
  const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  assert.is(signBody("It's a Secret to Everybody", body), documented);
  assert.ok(verifySignature("It's a Secret to Everybody", body, documented));
  assert.ok(verifySignature("It's a Secret to Everybody", body, documented.toUpperCase().replace('SHA256', 'sha256')), 'hex case does not matter');
});

test('signature: anything else is refused without throwing', () => {
  const secret = 'It\'s a Secret to Everybody';
  const body = Buffer.from('Hello, World!');
  const good = signBody(secret, body);
  for (const bad of [undefined, '', 'sha256=', 'sha256=zz', `${good}00`, good.slice(0, -2), good.replace('sha256=', 'sha1='), good.replace('sha256=', '')]) {
    assert.not.ok(verifySignature(secret, body, bad), `refused: ${String(bad)}`);
  }
  assert.not.ok(verifySignature('another secret', body, good), 'wrong secret');
  assert.not.ok(verifySignature(secret, Buffer.from('Hello, World?'), good), 'one byte changed');
  assert.not.ok(verifySignature('', body, signBody('', body)), 'an empty secret verifies nothing');
  const raw = Buffer.from('{"t":"\\u003c \u2665 \ud83c\udf89 \\/ \u2028"}');
  assert.ok(verifySignature(secret, raw, signBody(secret, raw)), 'raw bytes, whatever they hold');
});

test('events: Events API types map to webhook names; quiet actions and unknown events wake nobody', () => {
  assert.is(webhookName('IssuesEvent'), 'issues');
  assert.is(webhookName('IssueCommentEvent'), 'issue_comment');
  assert.is(webhookName('PullRequestEvent'), 'pull_request');
  assert.is(webhookName('PullRequestReviewCommentEvent'), 'pull_request_review_comment');
  assert.is(webhookName('WatchEvent'), 'watch');
  const defaults = wakeEvents({ name: 't' });
  assert.equal([...defaults], [...DEFAULT_EVENTS]);
  assert.ok(isWakeEvent(defaults, 'issues', 'opened'));
  assert.ok(isWakeEvent(defaults, 'projects_v2_item', 'edited'));
  assert.not.ok(isWakeEvent(defaults, 'issues', 'pinned'));
  assert.not.ok(isWakeEvent(defaults, 'push'));
  assert.not.ok(isWakeEvent(defaults, 'star', 'created'));
  const configured = wakeEvents({ name: 't', daemon: { events: ['Issues'] } });
  assert.ok(isWakeEvent(configured, 'issues', 'opened'));
  assert.not.ok(isWakeEvent(configured, 'pull_request', 'opened'), 'botminter.yml daemon.events narrows the set');
});

test('wake rules: every recorded payload, for the team, by its own identity, and for a foreign repository or board', () => {
  const team: TeamCoordinates = { repos: new Set(['acme/alpha-team']), board: 'PVT_team', statusField: 'PVTSSF_team', identity: 'alpha-bot' };
  const events = wakeEvents({ name: 't' });
  const cases = wakeCases('acme/alpha-team', { id: 'PVT_team', statusField: 'PVTSSF_team' }, 'Alpha-Bot');
  assert.ok(cases.length > 900, `${cases.length} cases`);
  const wrong = cases.filter((c) => judge(webhookFacts(c.event, c.payload), events, team).wake !== c.wakes)
    .map((c) => `${c.event}.${c.action ?? ''} (${c.variant}): expected ${c.wakes ? 'wake' : 'ignore'}`);
  assert.equal(wrong, []);
  assert.ok(cases.filter((c) => c.variant === 'team' && c.wakes).length >= 60, 'most watched payloads wake the team');
  assert.ok(cases.some((c) => c.variant === 'team-self' && c.wakes) && cases.some((c) => c.variant === 'team-self' && !c.wakes && c.event === 'issue_comment'));
});

test('wake rules: the reasons, a team without GitHub coordinates, Events API entries and project repositories', () => {
  const events = wakeEvents({ name: 't' });
  const team: TeamCoordinates = { repos: new Set(['acme/alpha']), board: 'PVT_1', identity: 'bot' };
  const reason = (facts: Parameters<typeof judge>[0], coordinates = team) => {
    const j = judge(facts, events, coordinates);
    return j.wake ? (j.self ? 'self-wake' : 'wake') : j.reason;
  };
  assert.is(reason({ event: 'issues', action: 'opened', repo: 'other/repo', sender: 'ann' }), 'foreign-repo');
  assert.is(reason({ event: 'issues', action: 'opened', repo: 'Acme/Alpha', sender: 'ann' }), 'wake', 'repositories compare case-insensitively');
  assert.is(reason({ event: 'issue_comment', action: 'created', repo: 'acme/alpha', sender: 'BOT' }), 'self');
  assert.is(reason({ event: 'issues', action: 'labeled', repo: 'acme/alpha', sender: 'bot' }), 'self-wake');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_2', sender: 'ann' }), 'foreign-board');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_1', sender: 'bot', field: { name: 'Title', type: 'text' } }), 'self');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_1', sender: 'bot', field: { name: 'Status', type: 'single_select' } }), 'self-wake');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_1', sender: 'bot', field: { id: 'F2', type: 'single_select' } }, { ...team, statusField: 'F1' }), 'self', 'another single-select field');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_1', sender: 'ann' }, { ...team, board: null }), 'foreign-board', 'an unknown board wakes nobody');
  assert.is(reason({ event: 'push', repo: 'acme/alpha', sender: 'ann' }), 'not-watched');
  assert.is(reason({ event: 'issues', action: 'pinned', repo: 'acme/alpha', sender: 'ann' }), 'quiet-action');
  assert.is(reason({ event: 'issues', action: 'opened', sender: 'ann' }), 'no-repo');
  const offline: TeamCoordinates = { repos: new Set(), board: null, identity: null };
  assert.is(reason({ event: 'issues', action: 'opened', repo: 'any/where', sender: 'ann' }, offline), 'wake', 'no GitHub coordinates: as before');
  assert.is(reason({ event: 'projects_v2_item', action: 'edited', board: 'PVT_9' }, offline), 'wake');
  const polled = polledFacts({ type: 'IssueCommentEvent', actor: { login: 'bot' }, repo: { name: 'acme/alpha' }, payload: { action: 'created' } });
  assert.equal(polled, { event: 'issue_comment', action: 'created', repo: 'acme/alpha', sender: 'bot' });
  assert.is(reason(polled), 'self');
  assert.equal([...teamRepos('Acme/Alpha', { name: 't', projects: [
    { name: 'w', fork_url: 'https://github.com/acme/widget.git' }, { name: 'g', fork_url: 'git@github.com:acme/gadget.git' }, { name: 'l', fork_url: '/srv/git/local.git' },
  ] })], ['acme/alpha', 'acme/widget', 'acme/gadget']);
  assert.equal([...teamRepos(undefined, { name: 't' })], []);
  assert.is(githubSlugOf('https://x-access-token:abc@github.com/a/b'), 'a/b');
  assert.is(githubSlugOf('https://gitlab.com/a/b.git'), undefined);
});

test('run budget: a sliding window per member; the next run when the oldest leaves it', () => {
  let now = 1_000_000;
  const budget = new RunBudget(2, 60_000, () => now);
  assert.is(budget.freeAt('dev'), now);
  budget.started('dev');
  now += 10_000;
  budget.started('dev');
  assert.is(budget.freeAt('dev'), 1_060_000, 'full: free when the first run is an hour (window) old');
  assert.is(budget.freeAt('qe'), now, 'per member');
  assert.equal(budget.atCap(), [{ member: 'dev', runs: 2, until: new Date(1_060_000).toISOString() }]);
  now = 1_060_001;
  assert.is(budget.freeAt('dev'), now);
  assert.equal(budget.atCap(), []);
});

test('idle members: after runs without work, their own events while they run or just ran do not wake them', () => {
  let now = 0;
  const work = new WorkTracker(() => now);
  for (let i = 1; i < IDLE_LIMIT; i++) work.ended('dev', false);
  assert.not.ok(work.ignoresOwn('dev', true), 'not yet');
  work.ended('dev', false);
  assert.ok(work.ignoresOwn('dev', true), 'while it runs');
  assert.ok(work.ignoresOwn('dev', false), 'just after');
  now += OWN_EVENT_GRACE_MS + 1;
  assert.not.ok(work.ignoresOwn('dev', false), 'long after its run, the event is another member\'s hand-off');
  assert.equal(work.idle(), [{ member: 'dev', runs: IDLE_LIMIT }]);
  work.ended('dev', true);
  assert.not.ok(work.ignoresOwn('dev', true), 'a run that did work clears it');
  assert.equal(work.idle(), []);
});

test('poll cursor: missing is empty; garbage is reported and read as empty', () => {
  const file = path.join(dir, 'poll.json');
  assert.equal(readCursor(file), { last_event_id: null, etag: null, last_poll_at: null });
  writeFileSync(file, JSON.stringify({ last_event_id: '10', etag: 'W/"abc"' }));
  assert.is(readCursor(file).last_event_id, '10');
  for (const garbage of ['{"last_event_id": "1', '[]', '{"last_event_id": "../x"}']) {
    writeFileSync(file, garbage);
    const reasons: string[] = [];
    assert.is(readCursor(file, (why) => reasons.push(why)).last_event_id, null);
    assert.is(reasons.length, 1, `reported: ${garbage}`);
  }
});

test('delivery ids are remembered from the journal for the redelivery window', () => {
  const file = path.join(dir, 'journal.jsonl');
  const now = Date.parse('2030-01-10T00:00:00Z');
  const line = (ts: string, id: string, outcome = 'wake') => JSON.stringify({ ts, type: 'delivery', id, outcome });
  writeFileSync(file, [line('2030-01-09T00:00:00Z', 'recent'), line('2029-12-01T00:00:00Z', 'old'), line('2030-01-09T00:00:00Z', 'again', 'duplicate'), '{"torn'].join('\n'));
  assert.equal([...recentDeliveries(file, now)], ['recent']);
});

test('unfinished work: a wake-up after the last start, then a crash or a stop with runs in progress', () => {
  const ts = '2030-01-10T00:00:00Z';
  const at = (type: string, extra: Record<string, unknown> = {}) => ({ ts, type, ...extra });
  const wake = at('delivery', { id: 'a', outcome: 'wake' });
  assert.is(unfinishedWork([]), undefined, 'no daemon ever ran');
  assert.is(unfinishedWork([at('start'), at('delivery', { outcome: 'ignored' })]), undefined, 'nothing relevant arrived');
  assert.match(unfinishedWork([at('start'), wake]) ?? '', /died/, 'no stop line: it died');
  assert.match(unfinishedWork([at('start'), at('poll', { waking: 2 })]) ?? '', /died/, 'poll wake-ups count');
  assert.match(unfinishedWork([at('start'), at('poll', { waking: 0, gap: true })]) ?? '', /died/, 'a gap counts');
  assert.is(unfinishedWork([at('start'), wake, at('run.start'), at('run.end'), at('stop')]), undefined, 'a clean stop with nothing left');
  assert.match(unfinishedWork([at('start'), wake, at('stop', { unfinished: true })]) ?? '', /stopped with runs/);
  assert.is(unfinishedWork([at('start'), wake, at('stop', { unfinished: true }), at('start')]), undefined, 'only the last daemon counts');
});

test("Link headers: the rel=\"next\" URL, as GitHub writes them", () => {
  const link = '<https://api.github.com/repositories/1296269/events?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1296269/events?per_page=100&page=3>; rel="last"';
  assert.is(nextLink(link), 'https://api.github.com/repositories/1296269/events?per_page=100&page=2');
  assert.is(nextLink('<https://x/e?page=1>; rel="first", <https://x/e?page=2>; rel="prev"'), undefined, 'the last page has no next');
  assert.is(nextLink(undefined), undefined);
  assert.is(nextLink('garbage'), undefined);
  assert.ok(signatureSelfTest(), "GitHub's documented test vector");
});

test('rotation keeps every writer (including inherited descriptors) on the current file', () => {
  const file = path.join(dir, 'daemon.log');
  const log = new RotatingFile(file, 100, 2);
  const inherited = openSync(file, 'a');
  log.write('a'.repeat(60) + '\n');
  log.write('b'.repeat(60) + '\n');
  writeSync(inherited, 'child output\n');
  closeSync(inherited);
  log.write('c'.repeat(60) + '\n');
  log.close();
  assert.is(readFileSync(`${file}.1`, 'utf8'), `${'b'.repeat(60)}\nchild output\n`);
  assert.is(readFileSync(`${file}.2`, 'utf8'), `${'a'.repeat(60)}\n`);
  assert.is(readFileSync(file, 'utf8'), `${'c'.repeat(60)}\n`, 'no hole, no lost line after truncation');
});

test.run();
