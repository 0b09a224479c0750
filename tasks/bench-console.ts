/**
 * The `console` section of `npm run bench`: `bm console` for a team of 10 members (stub ralph),
 * looked at in Debian's headless Chromium through playwright-core.
 *
 * - first paint: from the start of the navigation to `url with token`, in a fresh browser
 *   context, to the 10 member rows in the document (token redirect, page, script, event stream,
 *   first render), timed by the page itself; against the same 10 rows as a static page from a
 *   bare node:http server, alternating round by round;
 * - state change to page: from the moment a member's state changes on disk (state.json's mtime
 *   after `bm start M` / `bm stop -f M`) to the page showing its new status (a MutationObserver
 *   in the page notes the time), and from a member's SIGKILL (no file changes: the console's
 *   liveness check must notice) to the page showing it crashed; against a 1 s budget.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../test/support/browser.ts';
import type { RecordFn } from './bench.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.cjs');
const ROUNDS = 7;
const MEMBERS = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The baseline: the same 10 rows as a static page, from a bare node:http server. */
async function staticServer(keys: string[]): Promise<{ url: string; close(): void }> {
  const rows = keys.map((k) => `<tr data-member="${k}"><td>${k}</td><td class="status">stopped</td></tr>`).join('');
  const html = `<!doctype html><meta charset="utf-8"><title>static</title><table><tbody>${rows}</tbody></table>`;
  const server = createServer((_, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

/** Starts `bm console --port 0` and resolves with its URL and a stop function. */
function startConsole(env: NodeJS.ProcessEnv): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [LAUNCHER, 'console', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.on('close', (code) => reject(new Error(`bm console exited ${code}`)));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = /http:\/\/\S+\?token=\S+/.exec(stdout)?.[0];
      if (url) resolve({ url, stop: () => new Promise((done) => { child.once('close', () => done()); child.kill('SIGINT'); }) });
    });
  });
}

/**
 * Notes, in the page, the time since the navigation began (redirect included) at which all
 * member rows are in the document: measured by the browser, free of the driver's own delays.
 */
const PAINTED = `new MutationObserver((_, observer) => {
  if (document.querySelectorAll('tr[data-member]').length < ${MEMBERS}) return;
  globalThis.painted = performance.now();
  observer.disconnect();
}).observe(document, { subtree: true, childList: true })`;

async function firstPaint(page: Page, url: string): Promise<number> {
  await page.addInitScript(PAINTED);
  await page.goto(url);
  await page.locator('tr[data-member]').nth(MEMBERS - 1).waitFor();
  return Number(await page.evaluate('globalThis.painted'));
}

/** Notes, in the page, when each member row first shows each status (run in the page). */
const OBSERVE = `(() => {
  const seen = {};
  globalThis.seen = seen;
  const note = () => {
    for (const row of document.querySelectorAll('tr[data-member]')) {
      const key = row.getAttribute('data-member') + ':' + row.querySelector('.status')?.textContent;
      seen[key] ??= Date.now();
    }
  };
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  note();
})()`;

async function seenAt(page: Page, member: string, status: string): Promise<number> {
  const handle = await page.waitForFunction((key) => (globalThis as unknown as { seen: Record<string, number> }).seen[key], `${member}:${status}`, { timeout: 15_000 });
  return Number(await handle.jsonValue());
}

async function resetSeen(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen = (globalThis as unknown as { seen: Record<string, number> }).seen;
    for (const key of Object.keys(seen)) delete seen[key];
  });
}

/** Runs the section; prints why and records nothing when Chromium is missing. */
export async function benchConsole(record: RecordFn): Promise<void> {
  process.stderr.write(`console: bm console with ${MEMBERS} members in headless Chromium (median of ${ROUNDS} rounds)\n`);
  const missing = chromiumMissing();
  if (missing) {
    process.stderr.write(`  skipped: ${missing}\n`);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-console-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: path.join(dir, 'bm-home'), PATH: `${path.join(ROOT, 'test', 'support', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    BM_START_CHECK_MS: '300', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
  };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  const stateFile = path.join(dir, 'bm-home', 'state.json');
  writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n');
  bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
  for (const role of ['po', 'architect', 'dev', 'qe', 'reviewer']) for (let n = 0; n < 2; n++) bm('hire', role);
  bm('teams', 'sync');
  const keys = (JSON.parse(execFileSync(process.execPath, [LAUNCHER, 'members', 'list', '--json'], { env, encoding: 'utf8' })) as { name: string }[]).map((m) => m.name);

  const served = await startConsole(env);
  const baseline = await staticServer(keys);
  const browser = await launchChromium();
  try {
    const paint: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [times, url] of [[paint, served.url], [bare, baseline.url]] as const) {
        const context = await browser.newContext();
        const ms = await firstPaint(await context.newPage(), url);
        if (round > 0) times.push(ms);
        await context.close();
      }
    }
    record('console', 'static 10-row page (bare node:http)', median(bare), 'static page', median(bare));
    record('console', 'bm console first paint (10 members)', median(paint), 'static page', median(bare));

    const page = await browser.newPage();
    await firstPaint(page, served.url);
    await page.evaluate(OBSERVE);
    const delays: number[] = [];
    const crashes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const member = keys[round % keys.length];
      await resetSeen(page);
      bm('start', member);
      const started = statSync(stateFile).mtimeMs;
      delays.push((await seenAt(page, member, 'running')) - started);
      bm('stop', '-f', member);
      const stopped = statSync(stateFile).mtimeMs;
      delays.push((await seenAt(page, member, 'stopped')) - stopped);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const member = keys[round % keys.length];
      bm('start', member);
      const pid = (JSON.parse(readFileSync(stateFile, 'utf8')) as { members: Record<string, { pid: number }> }).members[`bench/${member}`].pid;
      await seenAt(page, member, 'running');
      await resetSeen(page);
      const killed = Date.now();
      process.kill(-pid, 'SIGKILL');
      crashes.push((await seenAt(page, member, 'crashed')) - killed);
      bm('stop', '-f', member);
    }
    record('console', 'state change on disk to page (median)', median(delays), '1 s budget', 1000, '< 1x');
    record('console', 'state change on disk to page (worst)', Math.max(...delays), '1 s budget', 1000);
    record('console', 'member SIGKILLed to page "crashed" (median)', median(crashes), '1 s budget', 1000);
  } finally {
    await browser.close();
    baseline.close();
    await served.stop();
    try {
      bm('stop', '-f');
    } catch {
      // Nothing left to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
