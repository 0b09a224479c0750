/**
 * `npm test`: runs every uvu test file and ends with one line `N passed, N failed, N skipped`.
 *
 * Each test file runs in its own uvu process, a few at a time (one more than the cores, at most
 * 4, so a file waiting on a child process leaves no core idle), taken from one queue that starts
 * with the files expected to take longest (scenario files first, larger first), so that no long
 * file starts last. Each file's output is printed whole when it finishes, so logs never interleave,
 * with a progress line giving its wall and CPU seconds (to see where the suite's time goes).
 * `--coverage` runs each file under c8 and prints one summary; `--deno` runs the suite under
 * Deno instead of Node + tsx; `--burn N` runs N CPU-burning processes beside it;
 * `BM_TEST_WORKERS=N` sets how many files run at once. Extra arguments filter test files by
 * substring: `npm test -- sync start`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { build } from './build.mjs';
import { denoBinary } from './deno.ts';
import { ORPHAN_MARKER } from '../test/support/sandbox.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const coverage = args.includes('--coverage');
// `--burn N`: N processes spinning on the CPU beside the suite, to prove it passes on a loaded machine.
const burnAt = args.indexOf('--burn');
const burners = burnAt >= 0 ? Number(args.splice(burnAt + 1, 1)[0]) : 0;
const deno = args.includes('--deno');
const filters = args.filter((a) => !a.startsWith('--'));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' || (entry.name === 'kind' && !process.env.BM_KIND_TESTS) ? [] : testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = testFiles(path.join(ROOT, 'test'))
  .map((f) => path.relative(path.join(ROOT, 'test'), f))
  .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
  .sort();

const workers = Math.max(1, Math.min(Number(process.env.BM_TEST_WORKERS) || Math.min(4, os.availableParallelism() + 1), files.length));
// Longest first, as far as can be told before running: scenario files, then by size.
const expectedCost = new Map(files.map((file) => [file, (file.startsWith('e2e/') ? 1e9 : 0) + statSync(path.join(ROOT, 'test', file)).size]));
const queue = [...files].sort((a, b) => (expectedCost.get(b) ?? 0) - (expectedCost.get(a) ?? 0));

interface Totals { passed: number; failed: number; skipped: number; note?: string }

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Tests that call lib/ directly (not through a sandbox) must not touch the operator's real
// ~/.botminter either: every test process gets a throwaway BM_HOME.
const scratchHome = mkdtempSync(path.join(os.tmpdir(), 'bm-test-home-'));
// One Node compile cache for every process of the run (sandboxes pass it through): it is keyed
// by each file's content, so sharing it is safe, and a cold cache per sandbox would cost time.
const compileCache = path.join(scratchHome, 'node-compile-cache');
const realHome = path.join(os.homedir(), '.botminter');
const realHomeExisted = existsSync(realHome);
process.on('exit', () => rmSync(scratchHome, { recursive: true, force: true }));

let filesDone = 0;

/** What one file's uvu output says: its totals, with a sandbox's orphan report as one more failure. */
function totalsOf(output: string, code: number | null): Totals {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  const skipped = /Skipped:\s+(\d+)/.exec(plain);
  const orphans = plain.split(ORPHAN_MARKER).length - 1;
  const notes = orphans > 0 ? [`${orphans} orphan report(s)`] : [];
  if (!total || !passed) return { passed: 0, failed: 1 + orphans, skipped: 0, note: [`uvu exited ${code} before printing totals`, ...notes].join('; ') };
  const failed = Number(total[1]) - Number(passed[1]);
  const exitedBadly = failed === 0 && code !== 0 && orphans === 0;
  if (exitedBadly) notes.push(`uvu exited ${code}`);
  return { passed: Number(passed[1]), failed: failed + orphans + (exitedBadly ? 1 : 0), skipped: Number(skipped?.[1] ?? 0), note: notes.join('; ') || undefined };
}

/** ` (cpu 12.3 s)` from the children's line of `times` (`1m2.5s 0m0.3s`), or '' when it cannot be read. */
function cpuOf(times: string): string {
  const line = times.trim().split('\n')[1] ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return parts.length === 2 ? ` (cpu ${(parts[0] + parts[1]).toFixed(1)} s)` : '';
}

/**
 * Runs one test file in its own uvu process; prints its output whole when it ends, and one
 * progress line on stderr: `[12/40] e2e/hire.test.ts 5/5 8.1 s (cpu 11.2 s)`.
 */
function runFile(file: string): Promise<Totals> {
  const uvu = ['node_modules/uvu/bin.js', '--no-color', 'test', `^${escape(file)}$`];
  // Under coverage each process adds to one report, printed at the end (c8 report).
  const command = deno ? [denoBinary(ROOT), ['run', '-A', '--no-prompt', ...uvu]] as const
    : coverage ? ['npx', ['--no', 'c8', '--clean=false', '--reporter=none', 'node', '--import', 'tsx', ...uvu]] as const
      : ['node', ['--import', 'tsx', ...uvu]] as const;
  const started = Date.now();
  return new Promise((resolve) => {
    // Through a shell whose `times` reports, on fd 3, the CPU used by the file's processes (those
    // waited for: uvu, bm, git, stubs; not detached daemons), so each file's cost shows, not just
    // its wall time. The test processes get no fd 3: one left running would hold the pipe open.
    const shell = ['-c', '"$@" 3>&-; code=$?; times >&3; exit $code', 'sh', command[0], ...command[1]];
    const child = spawn('sh', shell, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', BM_HOME: scratchHome, XDG_CACHE_HOME: path.join(scratchHome, 'cache'), NODE_COMPILE_CACHE: compileCache }, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let output = '';
    let times = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.stdio[3]?.on('data', (chunk) => (times += chunk));
    child.on('close', (code) => {
      process.stdout.write(output);
      const totals = totalsOf(output, code);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ran = totals.passed + totals.failed;
      process.stderr.write(`[${++filesDone}/${files.length}] ${file} ${totals.passed}/${ran}${totals.failed ? ' FAILED' : ''} ${seconds} s${cpuOf(times)}\n`);
      resolve(totals);
    });
  });
}

// The tests drive the CLI, which runs dist/: build it from the current sources first, so a
// forgotten `npm run build` can never test stale code. (Deno runs the sources themselves.)
if (!deno) {
  try {
    await build();
  } catch (error) {
    process.stdout.write(`\n0 passed, 1 failed, 0 skipped (the build failed: ${(error as Error).message.split('\n')[0]})\n`);
    process.exit(1);
  }
}

const burning = Array.from({ length: burners }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
process.on('exit', () => burning.forEach((burner) => burner.kill('SIGKILL')));
if (burners > 0) process.stderr.write(`${burners} CPU burner(s) running beside the suite\n`);
if (coverage) rmSync(path.join(ROOT, 'coverage'), { recursive: true, force: true });
const results: Totals[] = [];
await Promise.all(Array.from({ length: workers }, async () => {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) results.push(await runFile(file));
}));
burning.forEach((burner) => burner.kill('SIGKILL'));
if (coverage) spawnSync('npx', ['--no', 'c8', 'report', '--reporter=text-summary'], { cwd: ROOT, stdio: 'inherit' });
const sum = results.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
const notes = results.map((r) => r.note).filter(Boolean);
if (!realHomeExisted && existsSync(realHome)) {
  sum.failed++;
  notes.push(`a test created the operator's real ${realHome}`);
}
if (files.length === 0) notes.push('no test files matched');
process.stdout.write(`\n${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped${notes.length ? ` (${notes.join('; ')})` : ''}\n`);
process.exitCode = sum.failed > 0 || files.length === 0 ? 1 : 0;
