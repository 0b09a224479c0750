/**
 * What wakes the team, end to end: a daemon in webhook mode for a team on the fake GitHub
 * (repository octocat/alpha, its board, identity octocat from `GET /user`) receives every
 * recorded `@octokit/webhooks-examples` payload for the team, by the team's identity, and for
 * a foreign repository or board, and answers each as the wake table says; a foreign
 * organisation's events run nobody; a member's own comments cannot cause a second run.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLines } from '../support/wait.ts';
import { connectTeam, daemonJson, daemonTeam, deliver, example, journal, waitFor, webhookSecret } from '../support/daemon.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';
import { wakeCases } from '../support/wake-table.ts';

const TEAM = 'alpha';
const TOKEN = 'ghp_daemonwaketoken00000000000000000000000';
const FAST = { BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '300', BM_DAEMON_RECONCILE_S: '3600' };

let sandbox: Sandbox;
let github: FakeGitHub;
let stubLog: string;
let secret: string;
let port: number;
let board: { id: string; statusField: string };

const runCalls = () => jsonLines<{ argv: string[] }>(stubLog).filter((c) => c.argv[0] === 'run');
const count = (type: string) => journal(sandbox, TEAM).filter((e) => e.type === type).length;
/**
 * No run in progress and no follow-up waiting: a run's end is journaled before the daemon
 * decides on the work that arrived during it, so balanced start and end lines alone can show
 * a moment before that follow-up starts. daemon.json is written after the decision.
 */
const settled = () => waitFor('runs to end', () => {
  const record = daemonJson(sandbox, TEAM) as { inProgress?: number; waiting?: number };
  return count('run.end') === count('run.start') && record.inProgress === 0 && record.waiting === 0;
}, 30_000);

test.before(async () => {
  sandbox = createSandbox(FAST);
  stubLog = path.join(sandbox.dir, 'stub-calls.jsonl');
  sandbox.env.BM_STUB_LOG = stubLog;
  github = await startFakeGitHub({ token: TOKEN });
  await github.addRepo('octocat/alpha');
  const made = github.addBoard('octocat', 'alpha Board');
  board = { id: made.id, statusField: made.fields.find((f) => f.name === 'Status')?.id ?? '' };
  await daemonTeam(sandbox, TEAM, ['dev:alice', 'qe:quinn']);
  connectTeam(sandbox, TEAM, 'octocat/alpha', TOKEN);
  secret = webhookSecret(sandbox, TEAM);
  const started = await sandbox.ok(['daemon', 'start', '--port', '0'], { env: { BM_GITHUB_API_URL: github.url } });
  port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(started.stdout)?.[1]);
});

test.after(async () => {
  await sandbox.bm(['daemon', 'stop']);
  await github.close();
  sandbox.cleanup();
});

test('the daemon learns its identity and board; status -v prints the rule table', async () => {
  const status = await sandbox.json<{ identity: string; repos: string[]; board: { id: string; ownerType: string } }>(['daemon', 'status', '--json']);
  assert.equal([status.identity, status.repos, status.board.id, status.board.ownerType], ['octocat', ['octocat/alpha'], board.id, 'User']);
  const text = (await sandbox.ok(['daemon', 'status', '-v'])).stdout;
  assert.match(text, /Identity: +octocat/);
  assert.match(text, /issues +opened, labeled, unlabeled/);
  assert.match(text, /issue_comment +never/);
  assert.ok(github.requests.some((r) => r.method === 'GET' && r.path === '/user'), 'identity from GET /user');
});

test('a foreign repository or board runs nobody; every recorded payload is answered as the wake table says', async () => {
  const cases = wakeCases('octocat/alpha', board, 'octocat');
  const post = async (list: typeof cases) => {
    const wrong: string[] = [];
    // A few at a time, as GitHub delivers.
    for (let i = 0; i < list.length; i += 8) {
      await Promise.all(list.slice(i, i + 8).map(async (c) => {
        const reply = await deliver(port, secret, c.event, c.payload);
        const outcome = (JSON.parse(reply.body) as { outcome?: string }).outcome;
        if ((outcome === 'wake') !== c.wakes) wrong.push(`${c.event}.${c.action ?? ''} (${c.variant}): ${reply.status} ${outcome}`);
      }));
    }
    return wrong;
  };
  assert.equal(await post(cases.filter((c) => c.variant === 'foreign')), []);
  assert.equal(await post(cases.filter((c) => c.variant === 'team-self' && !c.wakes)), []);
  assert.is(runCalls().length, 0, "foreign events and the team's own comments, edits and pushes run nobody");
  const ignored = journal(sandbox, TEAM).filter((e) => e.type === 'delivery' && e.outcome === 'ignored');
  assert.ok(ignored.some((e) => e.reason === 'foreign-repo' && /Codertocat\/Hello-World is not the team's/.test(String(e.why))));
  assert.ok(ignored.some((e) => e.reason === 'foreign-board'));
  assert.ok(ignored.some((e) => e.reason === 'self' && e.event === 'issue_comment'));
  // The daemon writes its counters at most every 100 ms: the journal can be ahead of daemon.json.
  await waitFor('daemon.json to count every ignored delivery', () => daemonJson<{ ignored?: number }>(sandbox, TEAM).ignored === ignored.length);
  const status = await sandbox.json<{ ignored: number; ignoredBy: Record<string, number> }>(['daemon', 'status', '--json']);
  assert.is(status.ignored, ignored.length);
  assert.ok(status.ignoredBy['foreign-repo'] > 50, JSON.stringify(status.ignoredBy));

  assert.equal(await post(cases.filter((c) => c.wakes || c.variant === 'team')), []);
  await waitFor('the team to run', () => runCalls().length >= 2, 30_000);
  await settled();
});

test("a member's own comment during its run does not run it again; someone else's does", async () => {
  await settled();
  const before = runCalls().length;
  const issue = example('issues', 'opened', 'octocat/alpha');
  const comment = (login: string) => ({ ...example('issue_comment', 'created', 'octocat/alpha'), sender: { login } });
  await deliver(port, secret, 'issues', issue);
  await waitFor('both members to start', () => runCalls().length === before + 2, 30_000);
  assert.is(JSON.parse((await deliver(port, secret, 'issue_comment', comment('octocat'))).body).outcome, 'ignored');
  await settled();
  assert.is(runCalls().length, before + 2, 'no second run for the team\'s own comment');
  assert.is(JSON.parse((await deliver(port, secret, 'issue_comment', comment('a-human'))).body).outcome, 'wake');
  await waitFor('a human comment to run both members', () => runCalls().length === before + 4, 30_000);
  await settled();
});

test('a member whose runs keep doing no work is not woken by its own hand-offs; a human\'s still wake it', async () => {
  await settled();
  const before = runCalls().length;
  // The stub ralph commits nothing: every run so far did no work.
  const labeled = (login: string) => ({ ...example('issues', 'labeled', 'octocat/alpha'), sender: { login } });
  assert.is(JSON.parse((await deliver(port, secret, 'issues', labeled('octocat'))).body).outcome, 'wake', 'a hand-off by the identity is relevant');
  await waitFor('both members to skip their own event', () => journal(sandbox, TEAM).filter((e) => e.type === 'run.skip' && /its own event/.test(String(e.why))).length >= 2, 30_000);
  assert.is(runCalls().length, before);
  const idle = await sandbox.json<{ idle: { member: string; runs: number }[] }>(['daemon', 'status', '--json']);
  assert.equal(idle.idle.map((i) => i.member).sort(), ['dev-alice', 'qe-quinn']);
  assert.match((await sandbox.ok(['daemon', 'status'])).stdout, /Idle: +dev-alice \(its last \d+ runs did no work/);
  await deliver(port, secret, 'issues', labeled('a-human'));
  await waitFor("a human's label to run both members", () => runCalls().length === before + 2, 30_000);
  await settled();
});

test('the budget holds under a 200-event stream of relevant, foreign and own events: one run, then one coalesced run when the window allows', async () => {
  await settled();
  await sandbox.ok(['daemon', 'stop']);
  const started = await sandbox.ok(['daemon', 'start', '--port', '0', '--max-runs-per-hour', '1'], { env: { BM_GITHUB_API_URL: github.url, BM_DAEMON_BUDGET_WINDOW_MS: '20000' } });
  port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(started.stdout)?.[1]);
  const mark = journal(sandbox, TEAM).length;
  const since = (type: string) => journal(sandbox, TEAM).slice(mark).filter((e) => e.type === type);
  const relevant = example('issues', 'opened', 'octocat/alpha');
  await deliver(port, secret, 'issues', relevant);
  await waitFor('the first runs to end', () => since('run.end').length === 2, 30_000);
  const stream = Array.from({ length: 200 }, (_, i) => {
    if (i % 3 === 0) return ['issues', relevant] as const;
    if (i % 3 === 1) return ['issue_comment', example('issue_comment', 'created')] as const;
    return ['issue_comment', { ...example('issue_comment', 'created', 'octocat/alpha'), sender: { login: 'octocat' } }] as const;
  });
  for (let i = 0; i < stream.length; i += 10) await Promise.all(stream.slice(i, i + 10).map(([event, payload]) => deliver(port, secret, event, payload)));
  await waitFor('both members to be held by the budget', () => since('run.budget').length === 2, 10_000);
  const held = await sandbox.json<{ atCap: { member: string; until: string }[]; maxRunsPerHour: number }>(['daemon', 'status', '--json']);
  assert.is(held.maxRunsPerHour, 1);
  assert.equal(held.atCap.map((c) => c.member).sort(), ['dev-alice', 'qe-quinn']);
  assert.match((await sandbox.ok(['daemon', 'status'])).stdout, /At budget: +dev-alice \(1 runs within the hour; its next run at /);
  const firstStart = Date.parse(since('run.start')[0].ts);
  await waitFor('one coalesced run per member when the window allows', () => since('run.start').length === 4, 40_000);
  await waitFor('the runs to end', () => since('run.end').length === 4, 30_000);
  const later = since('run.start').slice(2);
  for (const run of later) assert.ok(Date.parse(run.ts) >= firstStart + 20_000 - 50, `held until the window allowed (${Date.parse(run.ts) - firstStart} ms)`);
  assert.is(since('run.start').length, 4, '67 relevant events: two runs per member');
  const deliveries = journal(sandbox, TEAM).slice(mark).filter((e) => e.type === 'delivery');
  assert.equal([deliveries.filter((e) => e.outcome === 'wake').length, deliveries.filter((e) => e.reason === 'foreign-repo').length, deliveries.filter((e) => e.reason === 'self').length], [68, 67, 66]);
});

test.run();
