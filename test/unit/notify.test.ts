/**
 * lib/notify.ts, against a local HTTP receiver: each key is sent once (also after a restart),
 * at most `burst` a minute with the held-back ones counted in the next, secrets masked, and a
 * failing webhook reported by its host only (its path may be a secret).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Notifier, type NotifierOptions } from '../../lib/notify.ts';

const SECRET = 'not-a-real-token-but-secret';
let receiver: Server;
let hook: string;
let dir: string;
let answer = 200;
const received: { title: string; message: string; bm: { key: string; kind: string } }[] = [];

test.before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/path-secret`;
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-notify-'));
});

test.after(() => {
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

function notifier(clock: { now: number }, logs: string[] = []): Notifier {
  const options: NotifierOptions = {
    team: 'alpha', channels: { webhook: hook }, secrets: [SECRET], stateFile: path.join(dir, 'notified.json'), burst: 2,
    now: () => clock.now, log: (level, line) => logs.push(`${level} ${line}`),
  };
  return new Notifier(options);
}

const notice = (key: string, text = `text of ${key}`) => ({ key, kind: 'failed-run' as const, title: `title ${key}`, text });

test('a key goes out once, also after a restart; secrets are masked', async () => {
  const clock = { now: 1_000_000 };
  const first = notifier(clock);
  assert.ok(await first.notify(notice('a', `the run used ${SECRET} and failed`)));
  assert.not.ok(await first.notify(notice('a')), 'the same key again');
  assert.not.ok(await notifier(clock).notify(notice('a')), 'a restarted daemon remembers it');
  assert.is(received.length, 1);
  assert.not.match(JSON.stringify(received[0]), SECRET);
  assert.is(received[0].bm.key, 'a');
});

test('at most `burst` a minute; the next one that may go counts the ones held back', async () => {
  received.length = 0;
  const clock = { now: 5_000_000 };
  const logs: string[] = [];
  const n = notifier(clock, logs);
  const sent = [];
  for (const key of ['b', 'c', 'd', 'e']) sent.push(await n.notify(notice(key)));
  assert.equal(sent, [true, true, false, false]);
  assert.equal(received.map((r) => r.bm.key), ['b', 'c']);
  assert.is(logs.filter((l) => l.includes('held back by the rate limit')).length, 2);
  clock.now += 60_000;
  assert.ok(await n.notify(notice('f')));
  assert.match(received.at(-1)?.message ?? '', /\(and 2 more held back by the rate limit; see `bm inbox` and `bm daemon status`\)/);
  assert.not.ok(await n.notify(notice('d')), 'a held-back key is not sent later on its own');
});

test('a failing webhook is logged by its host, never its path', async () => {
  answer = 500;
  const logs: string[] = [];
  assert.ok(await notifier({ now: 9_000_000 }, logs).notify(notice('g')));
  answer = 200;
  const warning = logs.find((l) => l.startsWith('warn'));
  assert.match(warning ?? '', /answered HTTP 500/);
  assert.not.match(logs.join('\n'), 'path-secret');
});

test.run();
