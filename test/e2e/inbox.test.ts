/**
 * The operator in the loop, driven like a user against the fake GitHub: a member asks (comment +
 * `needs-human`, through GitHub's REST API as `gh` does), `bm inbox` lists it, `bm answer`
 * clears it and the daemon wakes exactly the member that asked; human gates are approved and
 * rejected the same way; without a daemon bm says how to start one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLines } from '../support/wait.ts';
import { parse } from 'yaml';
import { journal, waitFor } from '../support/daemon.ts';
import { startFakeGitHub, type FakeGitHub, type FakeIssue } from '../support/fake-github.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'alpha';
const REPO = 'octocat/alpha-team';
const BOARD = 'alpha Board';
const TOKEN = 'ghp_inboxtoken000000000000000000000000000';
const FAST = { BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '100' };

let sandbox: Sandbox;
let github: FakeGitHub;
let stubLog: string;
let receiver: Receiver;
/** Raw bodies the notification receiver got. */
let notifications: string[];

interface InboxJson {
  team: string;
  items: { number: number; kind: string; status: string | null; gate: string | null; question: string | null; askedBy: string | null; ageSeconds: number; url: string }[];
}
interface ActionJson { action: string; members: string[]; woken: boolean; hint: string | null; removedLabel: boolean; status: { from: string | null; to: string | null } }

const runCwds = (): string[] => jsonLines<{ argv: string[]; cwd: string }>(stubLog)
  .filter((c) => c.argv[0] === 'run').map((c) => path.basename(c.cwd));

/** A member's attributed comment, as the gh skill's bm_comment writes it. */
const memberComment = (role: string, member: string, text: string) => `### 🤖 ${role} — 2026-03-02T16:40:00Z\n\n${text}\n\nMember: ${member}`;

/** What a member does to ask: comment, then label, through the REST API with the team's token. */
async function ask(issue: FakeIssue, role: string, member: string, text: string): Promise<void> {
  const headers = { authorization: `token ${TOKEN}`, 'content-type': 'application/json' };
  const base = `${github.url}/repos/${REPO}/issues/${issue.number}`;
  const commented = await fetch(`${base}/comments`, { method: 'POST', headers, body: JSON.stringify({ body: memberComment(role, member, text) }) });
  assert.is(commented.status, 201);
  const labelled = await fetch(`${base}/labels`, { method: 'POST', headers, body: JSON.stringify({ labels: ['needs-human'] }) });
  assert.is(labelled.status, 200);
}

const graphqlCalls = (operation: string) => github.requests.filter((r) => r.path === '/graphql' && (r.body as { operationName?: string }).operationName === operation).length;

/** Waits until the daemon read the inbox twice more: a duplicate notification would have been sent by then. */
async function twoMoreInboxReads(): Promise<void> {
  const seen = graphqlCalls('BmInbox');
  await waitFor('two more inbox reads by the daemon', () => graphqlCalls('BmInbox') >= seen + 2, 30_000);
}

test.before(async () => {
  github = await startFakeGitHub({ token: TOKEN });
  receiver = await startReceiver();
  notifications = receiver.bodies;
  sandbox = createSandbox({ ...FAST, GH_TOKEN: TOKEN, BM_GITHUB_API_URL: github.url });
  stubLog = path.join(sandbox.dir, 'stub-calls.jsonl');
  sandbox.env.BM_STUB_LOG = stubLog;
  await sandbox.ok(['init', '--non-interactive', '--team-name', TEAM, '--profile', 'scrum', '--workzone', sandbox.workzone, '--github-repo', REPO,
    '--hire', 'dev:alice', '--hire', 'po:paul', '--hire', 'architect:archie', '--human-gates', 'design,accept']);
  await sandbox.ok(['teams', 'sync']);
  const hook = receiver.url;
  const set = await sandbox.json<{ webhook: string }>(['teams', 'notify', '--webhook', '--json'], { input: `${hook}\n` });
  assert.is(set.webhook, new URL(hook).host, 'only the host is shown');
});

test.after(async () => {
  await sandbox.bm(['daemon', 'stop']);
  sandbox.cleanup();
  await github.close();
  receiver.close();
});

test('init sets up the board with the gate statuses and records the chosen gates', async () => {
  const options = github.boards.find((b) => b.title === BOARD)?.fields.find((f) => f.name === 'Status')?.options?.map((o) => o.name) ?? [];
  for (const s of ['human:design-review', 'human:plan-review', 'human:accept']) assert.ok(options.includes(s), `board lacks ${s}: ${options.join(', ')}`);
  const gates = await sandbox.json<{ gates: { name: string; enabled: boolean }[] }>(['teams', 'gates', '--json']);
  assert.equal(gates.gates.map((g) => `${g.name}=${g.enabled}`), ['design=true', 'plan=false', 'accept=true']);
  const manifest = parse(readFileSync(path.join(sandbox.workzone, TEAM, 'team', 'botminter.yml'), 'utf8')) as { human_gates: { name: string; enabled: boolean }[] };
  assert.is(manifest.human_gates.find((g) => g.name === 'plan')?.enabled, false);
});

test('a question is notified once, listed, answered, and wakes only the member that asked', async () => {
  await sandbox.ok(['daemon', 'start', '--port', '0'], { env: { BM_DAEMON_INBOX_MS: '300' } });
  for (let i = 0; i < 5; i++) github.addIssue({ title: `busy work ${i}`, board: BOARD, status: 'dev:implement' });
  const issue = github.addIssue({ title: 'Pick a database', board: BOARD, status: 'dev:implement' });
  await ask(issue, 'dev', 'dev-alice', '**Question for the operator:** PostgreSQL or SQLite?');

  await waitFor('the notification', () => notifications.length >= 1, 30_000);
  await twoMoreInboxReads();
  assert.is(notifications.length, 1, notifications.join('\n'));
  const note = JSON.parse(notifications[0]) as { text: string; content: string; title: string; message: string; bm: { kind: string; member: string; url: string } };
  assert.is(note.bm.kind, 'inbox');
  assert.is(note.bm.member, 'dev-alice');
  assert.is(note.bm.url, issue.html_url);
  assert.match(note.title, /#\d+: a question from dev-alice/);
  assert.match(note.text, /PostgreSQL or SQLite/);
  assert.match(note.content, /PostgreSQL or SQLite/);
  assert.not.match(notifications[0], TOKEN);

  const inbox = await sandbox.json<InboxJson>(['inbox', '--json']);
  assert.is(inbox.team, TEAM);
  assert.is(inbox.items.length, 1);
  const [item] = inbox.items;
  assert.is(item.number, issue.number);
  assert.is(item.kind, 'question');
  assert.is(item.status, 'dev:implement');
  assert.is(item.askedBy, 'dev-alice');
  assert.is(item.question, '**Question for the operator:** PostgreSQL or SQLite?');
  assert.ok(item.ageSeconds >= 0 && item.ageSeconds < 600);
  const table = await sandbox.ok(['inbox']);
  assert.match(table.stdout, /Pick a database/);

  const answered = await sandbox.json<ActionJson>(['answer', String(issue.number), 'PostgreSQL, please.', '--json']);
  assert.is(answered.action, 'answer');
  assert.is(answered.woken, true, JSON.stringify(answered));
  assert.equal(answered.members, ['dev-alice']);
  assert.is(answered.removedLabel, true);
  assert.not.ok(issue.labels.includes('needs-human'));
  assert.is(issue.comments.at(-1)?.body, 'PostgreSQL, please.');
  await waitFor('the run of dev-alice', () => journal(sandbox, TEAM).some((e) => e.type === 'run.end' && e.member === 'dev-alice'), 90_000);
  assert.equal(runCwds(), ['dev-alice'], 'only the member that asked ran');
  const wake = journal(sandbox, TEAM).find((e) => e.type === 'inbox.answer');
  assert.is(wake?.origin, 'cli');
  assert.is((await sandbox.json<InboxJson>(['inbox', '--json'])).items.length, 0);

  const again = await sandbox.bm(['answer', String(issue.number), 'twice']);
  assert.is(again.code, 1);
  assert.match(again.stderr, /not waiting for the operator/);
  assert.is(issue.comments.length, 2, 'nothing posted on a refused answer');
});

test('gate items are approved (moved on) and rejected (sent back); their new owners are woken', async () => {
  const design = github.addIssue({ title: 'Design: export to CSV', board: BOARD, status: 'human:design-review', labels: ['kind/story'] });
  await ask(design, 'reviewer', 'reviewer-rita', 'Design approved; over to the operator.');
  const accept = github.addIssue({ title: 'Story: import from CSV', board: BOARD, status: 'human:accept' });
  await ask(accept, 'qe', 'qe-quinn', 'Verified; every criterion passes.');

  const inbox = await sandbox.json<InboxJson>(['inbox', '--json']);
  assert.equal(inbox.items.map((i) => `${i.number}:${i.kind}:${i.gate}`), [`${design.number}:gate:design`, `${accept.number}:gate:accept`]);
  await waitFor('the two gate notifications', () => notifications.length >= 3, 30_000);
  assert.match(notifications.slice(1).join('\n'), /waits for your approval \(design gate\)/);

  const runsBefore = runCwds().length;
  const approved = await sandbox.json<ActionJson>(['approve', String(design.number), '--json']);
  assert.equal(approved.status, { from: 'human:design-review', to: 'po:ready' });
  assert.equal(approved.members, ['po-paul']);
  assert.is(approved.woken, true);
  assert.is(github.statusOf(design, BOARD), 'po:ready');
  assert.match(design.comments.at(-1)?.body ?? '', /^\*\*Approved\*\* by the operator \(design gate\)\.\n\nStatus: human:design-review -> po:ready$/);

  const rejected = await sandbox.json<ActionJson>(['reject', String(accept.number), 'The CSV header is missing.', '--json']);
  assert.equal(rejected.status, { from: 'human:accept', to: 'dev:implement' });
  assert.equal(rejected.members, ['dev-alice']);
  assert.is(github.statusOf(accept, BOARD), 'dev:implement');
  assert.match(accept.comments.at(-1)?.body ?? '', /The CSV header is missing\./);
  await waitFor('the runs of po-paul and dev-alice', () => runCwds().length >= runsBefore + 2, 90_000);
  assert.equal(runCwds().slice(runsBefore).sort(), ['dev-alice', 'po-paul']);
  assert.is((await sandbox.json<InboxJson>(['inbox', '--json'])).items.length, 0);
  await twoMoreInboxReads();
  assert.is(notifications.length, 3, 'one notification per item, never repeated');

  const notGate = await sandbox.bm(['approve', String(design.number)]);
  assert.is(notGate.code, 1);
  assert.match(notGate.stderr, /in status 'po:ready', not in a human gate/);
});

test('without a daemon, answering says how to wake the member; bad input is refused before GitHub', async () => {
  await sandbox.ok(['daemon', 'stop']);
  const issue = github.addIssue({ title: 'Which licence?', board: BOARD, status: 'po:triage' });
  await ask(issue, 'po', 'po-paul', '**Question for the operator:** MIT or Apache-2.0?');
  const before = github.requests.length;
  assert.is((await sandbox.json<InboxJson>(['inbox', '--json'])).items.length, 1);
  assert.is(github.requests.length - before, 1, 'the whole inbox is one GitHub request');
  const answered = await sandbox.ok(['answer', String(issue.number), 'MIT.']);
  assert.match(answered.stdout, /Answered #\d+; removed 'needs-human'/);
  assert.match(answered.stdout, /daemon is not running.*bm daemon start/);

  const requests = github.requests.length;
  const bad = await sandbox.bm(['answer', 'abc', 'x']);
  assert.is(bad.code, 2);
  const empty = await sandbox.bm(['reject', String(issue.number), '  ']);
  assert.is(empty.code, 1);
  assert.match(empty.stderr, /Error: The reason is empty/);
  assert.is(github.requests.length, requests, 'no GitHub request for bad input');
  const missing = await sandbox.bm(['answer', '999', 'hello']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /Issue #999 not found/);
});

test.run();
