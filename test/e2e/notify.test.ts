/**
 * The daemon's notifications about members, received by a local HTTP receiver: a member quiet
 * for the stall time and a member at its run budget are each announced once, and nothing sent
 * holds the team's secrets. (New inbox items: test/e2e/inbox.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { daemonTeam, deliver, example, journal, waitFor, webhookSecret } from '../support/daemon.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

const TEAM = 'gamma';
const FAST = { BM_STOP_KILL_MS: '1000', BM_DAEMON_STOP_MS: '5000', STUB_RALPH_TICK_MS: '20', STUB_RALPH_DELAY_MS: '100' };
/** The stall time: 1.2 s without output. */
const STALL = { BM_STALL_MINUTES: '0.02', BM_DAEMON_INBOX_MS: '300' };

let sandbox: Sandbox;
let receiver: Receiver;
let secret: string;
interface Note { title: string; text: string; bm: { kind: string; member: string | null; key: string } }
const notes = (kind: string) => receiver.bodies.map((body) => JSON.parse(body) as Note).filter((n) => n.bm.kind === kind);

test.before(async () => {
  receiver = await startReceiver();
  sandbox = createSandbox(FAST);
  await daemonTeam(sandbox, TEAM, ['dev:alice', 'qe:quinn']);
  secret = webhookSecret(sandbox, TEAM);
  await sandbox.ok(['teams', 'notify', '--webhook'], { input: `${receiver.url}\n` });
});

test.after(async () => {
  await sandbox.bm(['daemon', 'stop']);
  await sandbox.bm(['stop']);
  sandbox.cleanup();
  receiver.close();
});

test('a quiet running member is announced as stalled and a member at its run budget as such, each once, without secrets', async () => {
  await sandbox.ok(['start', 'qe-quinn'], { env: { STUB_RALPH_MODE: 'persistent' } });
  await sandbox.ok(['daemon', 'start', '--port', '0', '--max-runs-per-hour', '1'], { env: STALL });
  await waitFor('the stall notification', () => notes('stalled').length >= 1, 20_000);
  const stalled = notes('stalled')[0];
  assert.is(stalled.bm.member, 'qe-quinn');
  assert.match(stalled.title, /qe-quinn looks stalled/);
  assert.match(stalled.text, /bm attach qe-quinn/);
  const shown = (await sandbox.ok(['status'], { env: STALL })).stdout;
  assert.match(shown, /^qe-quinn\tqe\tstalled\t/m, shown);

  const port = (await sandbox.json<{ port: number }>(['daemon', 'status', '--json'])).port;
  await deliver(port, secret, 'issues', example('issues', 'opened'));
  await waitFor('the first run of dev-alice', () => journal(sandbox, TEAM).some((e) => e.type === 'run.end' && e.member === 'dev-alice'), 20_000);
  await deliver(port, secret, 'issues', example('issues', 'reopened'));
  await deliver(port, secret, 'issues', example('issues', 'edited'));
  await waitFor('the budget notification', () => notes('budget').some((n) => n.bm.member === 'dev-alice'), 20_000);
  assert.match(notes('budget')[0].title, /dev-alice is at its run budget/);

  // Meanwhile the daemon checked the quiet member every 300 ms: still one notification each.
  // (It journals a notification once the receiver has answered: wait for the last one too.)
  await waitFor('the daemon to have checked for 2 s more', () => {
    const sent = journal(sandbox, TEAM).filter((e) => e.type === 'notify');
    return sent.length >= receiver.bodies.length && Date.now() - Date.parse(sent.at(-1)?.ts ?? '') > 2000;
  }, 10_000);
  assert.is(notes('stalled').filter((n) => n.bm.member === 'qe-quinn').length, 1, receiver.bodies.join('\n'));
  const keys = receiver.bodies.map((body) => (JSON.parse(body) as Note).bm.key);
  assert.is(new Set(keys).size, keys.length, `a key is sent once: ${keys.join(', ')}`);
  assert.is(notes('budget').filter((n) => n.bm.member === 'dev-alice').length, 1, receiver.bodies.join('\n'));
  assert.is(journal(sandbox, TEAM).filter((e) => e.type === 'notify').length, receiver.bodies.length, 'each sent notification is journaled');
  for (const body of receiver.bodies) assert.not.ok(body.includes(secret), 'the webhook secret never leaves');
  await sandbox.ok(['stop', 'qe-quinn']);
});

test.run();
