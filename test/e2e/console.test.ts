/**
 * `bm console` over plain HTTP, as curl or a hostile page would see it: the token (401 without
 * it), the cookie trade and redirect, the security headers, the Host and Origin checks, the
 * read-only mode, the listening address, the /api/ shapes against the CLI's --json, the live push
 * of a member's state change, actions journaled with origin "console", and a clean Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventStream, http, startConsoleProcess, type ConsoleProcess } from '../support/console.ts';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let consoles: ConsoleProcess[] = [];

const FAST = { BM_START_CHECK_MS: '300', BM_STOP_GRACE_MS: '3000', BM_STOP_KILL_MS: '1000', STUB_RALPH_TICK_MS: '20' };

// One team for the whole file (creating it is most of a test's time); each test leaves it stopped.
test.before(async () => {
  sandbox = createSandbox(FAST);
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  await sandbox.ok(['hire', 'dev', '--name', 'alice']);
  await sandbox.ok(['hire', 'qe', '--name', 'quinn']);
  await sandbox.ok(['teams', 'sync']);
});
test.after.each(async () => {
  for (const c of consoles) await c.stop().catch(() => undefined);
  consoles = [];
  await sandbox.ok(['stop', '-f']);
});
test.after(() => sandbox.cleanup());

async function open(args: string[] = []): Promise<ConsoleProcess> {
  const c = await startConsoleProcess(sandbox, args);
  consoles.push(c);
  return c;
}

interface Row { key: string; status: string; endpoint: { pid: number } | null }
interface View { status: { team: string; members: Row[] }; output: Record<string, { lastLine: string | null; restarts: number }> }

const statusOf = (view: View, key: string) => view.status.members.find((m) => m.key === key)?.status;

/** The IPv4 addresses listening on `port`, from /proc/net/tcp (hex, little-endian). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A')
    .map((cols) => cols[1].split(':')[0].match(/../g)?.reverse().map((b) => parseInt(b, 16)).join('.') ?? '');
}

test('without its token every request is refused with 401; the token trades for a strict cookie', async () => {
  const c = await open();
  assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
  assert.equal(listeningAddresses(c.port), ['127.0.0.1'], 'only loopback listens');

  for (const [method, route] of [['GET', '/'], ['GET', '/app.js'], ['GET', '/api/status'], ['GET', '/api/events'], ['POST', '/api/start']]) {
    const answer = await http(c.port, method, route, { Host: `127.0.0.1:${c.port}` });
    assert.is(answer.status, 401, `${method} ${route} without a token`);
    assert.match(answer.body, /token/);
  }
  assert.is((await http(c.port, 'GET', '/api/status', { Authorization: 'Bearer wrong' })).status, 401, 'a wrong bearer token');
  assert.is((await http(c.port, 'GET', '/?token=wrong')).status, 401, 'a wrong token in the URL');
  assert.is((await http(c.port, 'GET', '/', { Cookie: `bm_console_${c.port}=wrong` })).status, 401, 'a wrong cookie');

  const signIn = await http(c.port, 'GET', `/?token=${c.token}`);
  assert.is(signIn.status, 303);
  assert.is(signIn.headers.location, '/', 'redirected to the URL without the token');
  const cookie = String(signIn.headers['set-cookie']);
  assert.match(cookie, new RegExp(`^bm_console_${c.port}=${c.token}; HttpOnly; SameSite=Strict; Path=/$`));

  const page = await http(c.port, 'GET', '/', { Cookie: cookie.split(';')[0] });
  assert.is(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/app.js"><\/script>/);
  assert.not.match(page.body, /<script>/, 'no inline script');
  const csp = String(page.headers['content-security-policy']);
  for (const part of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) assert.ok(csp.includes(part), `CSP has ${part}: ${csp}`);
  assert.not.ok(csp.includes('unsafe-inline'), 'no unsafe-inline');
  assert.is(page.headers['referrer-policy'], 'no-referrer');
  assert.is(page.headers['x-content-type-options'], 'nosniff');
  assert.is(page.headers['x-frame-options'], 'DENY');

  assert.is((await http(c.port, 'GET', '/api/status', { Authorization: `Bearer ${c.token}`, Host: `evil.example:${c.port}` })).status, 403, 'a foreign Host (DNS rebinding) is refused');
  assert.not.ok(c.stderr().includes(c.token), 'the token is never logged');
});

test('the page carries its first snapshot as inert JSON: agent output cannot close the data block', async () => {
  const log = path.join(sandbox.bmHome, 'logs', 'alpha', 'dev-alice.log');
  mkdirSync(path.dirname(log), { recursive: true });
  writeFileSync(log, 'agent says </script><script>alert(1)</script>\n');
  const c = await open();
  const page = await http(c.port, 'GET', '/', { Authorization: `Bearer ${c.token}` });
  const data = /<script type="application\/json" id="initial-view">(.*)<\/script>/.exec(page.body)?.[1];
  assert.ok(data, 'the snapshot is in the page');
  assert.not.ok(data.includes('<'), 'no raw < inside the data block');
  assert.is((JSON.parse(data) as View).output['dev-alice'].lastLine, 'agent says </script><script>alert(1)</script>');
  assert.is(page.body.match(/<script/g)?.length, 2, 'the module script and the data block, nothing more');
  rmSync(log);
});

test('/api/status and /api/daemon answer exactly as `bm status --json` and `bm daemon status --json`', async () => {
  await sandbox.ok(['start', 'dev-alice']);
  const c = await open();
  const auth = { Authorization: `Bearer ${c.token}` };
  const status = JSON.parse((await http(c.port, 'GET', '/api/status', auth)).body) as unknown;
  assert.equal(status, await sandbox.json(['status', '--json']));
  const daemon = JSON.parse((await http(c.port, 'GET', '/api/daemon', auth)).body) as unknown;
  assert.equal(daemon, await sandbox.json(['daemon', 'status', '--json']));

  // With a daemon running: its status and its journal reach the page, pushed.
  const stream = await eventStream(c.port, '/api/events', auth);
  await sandbox.ok(['daemon', 'start', '--port', '0']);
  try {
    type Daemon = { running: boolean; pid: number; uptimeSeconds?: number };
    const live = await stream.next<{ daemon: Daemon; journal: { type: string }[] }>((event, v) => event === 'view' && v.daemon.running && v.journal.some((e) => e.type === 'start'));
    const cli = await sandbox.json<Daemon>(['daemon', 'status', '--json']);
    assert.equal({ ...live.daemon, uptimeSeconds: 0 }, { ...cli, uptimeSeconds: 0 });
  } finally {
    stream.close();
    await sandbox.ok(['daemon', 'stop']);
  }
});

test('a state change reaches the event stream without polling; actions are journaled with origin console', async () => {
  const journal = path.join(sandbox.bmHome, 'daemon', 'alpha', 'journal.jsonl');
  rmSync(journal, { force: true });
  const c = await open();
  const auth = { Authorization: `Bearer ${c.token}` };
  const stream = await eventStream(c.port, '/api/events', auth);
  const first = await stream.next<View>((event) => event === 'view');
  assert.is(statusOf(first, 'dev-alice'), 'stopped');

  // A change made by the CLI, outside the console: pushed as soon as state.json changes.
  const began = Date.now();
  await sandbox.ok(['start', 'dev-alice']);
  const running = await stream.next<View>((event, v) => event === 'view' && statusOf(v, 'dev-alice') === 'running');
  assert.ok(Date.now() - began < 10_000);
  await stream.next<View>((event, v) => event === 'view' && Boolean(v.output['dev-alice']?.lastLine));
  assert.is(statusOf(running, 'qe-quinn'), 'stopped');

  // An action through the console's API, as the page sends it.
  const stopped = await http(c.port, 'POST', '/api/stop', { ...auth, 'Content-Type': 'application/json' }, JSON.stringify({ members: ['dev-alice'] }));
  assert.is(stopped.status, 200, stopped.body);
  assert.match(stopped.body, /dev-alice: (stopped|terminated)/);
  await stream.next<View>((event, v) => event === 'view' && statusOf(v, 'dev-alice') === 'stopped' && v.status.members.length === 2 && stream.events.length > 2);
  const started = await http(c.port, 'POST', '/api/start', { ...auth, 'Content-Type': 'application/json' }, JSON.stringify({ members: ['qe-quinn'] }));
  assert.is(started.status, 200, started.body);
  await stream.next<View>((event, v) => event === 'view' && statusOf(v, 'qe-quinn') === 'running');
  stream.close();

  assert.ok(existsSync(journal), 'the actions went to the team journal');
  const actions = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(actions.map((a) => [a.type, a.action, a.members, a.origin]), [['action', 'stop', ['dev-alice'], 'console'], ['action', 'start', ['qe-quinn'], 'console']]);

  const bad = await http(c.port, 'POST', '/api/start', { ...auth, 'Content-Type': 'application/json' }, JSON.stringify({ members: ['../etc'] }));
  assert.is(bad.status, 400, 'a bad member name is a clear 400');
  assert.match(bad.body, /Invalid member name/i);
});

test('a member that dies is shown crashed within about a second, though no file changes', async () => {
  await sandbox.ok(['start', 'dev-alice']);
  const c = await open();
  const stream = await eventStream(c.port, '/api/events', { Authorization: `Bearer ${c.token}` });
  const first = await stream.next<View>((event) => event === 'view');
  const pid = first.status.members.find((m) => m.key === 'dev-alice')?.endpoint?.pid;
  assert.ok(pid, 'dev-alice runs');
  process.kill(-pid, 'SIGKILL');
  await stream.next<View>((event, v) => event === 'view' && statusOf(v, 'dev-alice') === 'crashed', 5000);
  stream.close();
});

test('actions: same-origin JSON only when signed in by cookie; none at all with --read-only', async () => {
  const c = await open();
  const cookie = String((await http(c.port, 'GET', `/?token=${c.token}`)).headers['set-cookie']).split(';')[0];
  const json = { Cookie: cookie, 'Content-Type': 'application/json' };
  assert.is((await http(c.port, 'POST', '/api/start', json, '{}')).status, 403, 'no Origin: refused');
  assert.is((await http(c.port, 'POST', '/api/start', { ...json, Origin: 'http://evil.example' }, '{}')).status, 403, 'another origin: refused');
  assert.is((await http(c.port, 'POST', '/api/start', { Cookie: cookie, Origin: c.origin, 'Content-Type': 'text/plain' }, '{}')).status, 415, 'a form-like body: refused');
  assert.not.ok(existsSync(path.join(sandbox.bmHome, 'state.json')) && readFileSync(path.join(sandbox.bmHome, 'state.json'), 'utf8').includes('dev-alice'), 'nothing was started');

  const ro = await open(['--read-only']);
  const refused = await http(ro.port, 'POST', '/api/start', { Authorization: `Bearer ${ro.token}`, 'Content-Type': 'application/json' }, '{}');
  assert.is(refused.status, 403);
  assert.match(refused.body, /read-only/);
});

test('--open hands the browser a 0600 redirect file, never the token itself', async () => {
  const opener = path.join(sandbox.dir, 'browser.sh');
  const seen = path.join(sandbox.dir, 'browser-argv');
  writeFileSync(opener, `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}.tmp' && mv '${seen}.tmp' '${seen}'\n`, { mode: 0o755 });
  const c = await startConsoleProcess(sandbox, ['--open'], { BROWSER: opener });
  consoles.push(c);
  const deadline = Date.now() + 10_000;
  while (!existsSync(seen) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  const argv = readFileSync(seen, 'utf8').trim();
  assert.not.ok(argv.includes(c.token), 'no token in the browser\'s argv');
  assert.is(statSync(argv).mode & 0o777, 0o600);
  assert.ok(readFileSync(argv, 'utf8').includes(c.url), 'the file sends the browser to the URL with the token');
});

test('--bind listens where asked, with a warning; Ctrl-C stops the console cleanly', async () => {
  const c = await open(['--bind', '0.0.0.0']);
  assert.match(c.stderr(), /Warning: listening on 0\.0\.0\.0/);
  assert.equal(listeningAddresses(c.port), ['0.0.0.0']);
  assert.is((await http(c.port, 'GET', '/api/status', { Authorization: `Bearer ${c.token}`, Host: `build-box.example:${c.port}` })).status, 200, 'reached by any name of the machine');
  assert.is((await http(c.port, 'GET', '/api/status', { Host: `build-box.example:${c.port}` })).status, 401, 'but never without the token');
  const stream = await eventStream(c.port, '/api/events', { Authorization: `Bearer ${c.token}`, Host: `0.0.0.0:${c.port}` });
  await stream.next((event) => event === 'view');
  assert.is(await c.stop(), 0, 'exits 0 on Ctrl-C, even with a stream open');
  consoles = [];
  assert.equal(listeningAddresses(c.port), [], 'the port is closed');
});

test.run();
