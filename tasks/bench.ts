/**
 * `npm run bench`: bm's speed as ratios to baselines measured in the same run, so the figures
 * mean the same on a fast laptop and a slow CI box. Each figure is the median of several runs.
 *
 *   npm run bench                 every section
 *   npm run bench -- startup      only sections whose name contains "startup"
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.mjs');
const DENO = path.join(ROOT, 'node_modules', 'deno', 'deno');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const filters = process.argv.slice(2);

/** Median wall time in ms of running `command args` `runs` times (after one warm-up run). */
export function medianMs(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, runs = RUNS): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    if (i > 0) times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

interface Row { section: string; what: string; ms: number; baseline: string; ratio: number; target?: string }
const rows: Row[] = [];

/** Records one measurement against a baseline. */
export function record(section: string, what: string, ms: number, baseline: string, baselineMs: number, target?: string): void {
  rows.push({ section, what, ms, baseline, ratio: ms / baselineMs, target });
  process.stderr.write(`  ${what}: ${ms.toFixed(1)} ms = ${(ms / baselineMs).toFixed(2)}x ${baseline}${target ? ` (target ${target})` : ''}\n`);
}

/** A sandbox BM_HOME with one offline team and three members, for commands that need a team. */
function benchTeam(): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-'));
  const env = { ...process.env, HOME: dir, BM_HOME: path.join(dir, 'bm-home'), GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
  for (const role of ['dev', 'qe', 'reviewer']) bm('hire', role);
  return { env, dir };
}

function startup(): void {
  process.stderr.write('startup: bm start-up latency (median of runs)\n');
  const { env, dir } = benchTeam();
  try {
    const nodeBase = medianMs('node', ['-e', '0'], env);
    record('startup', 'node -e 0', nodeBase, 'node', nodeBase);
    for (const args of [['--help'], ['members', 'list'], ['profiles', 'list']]) {
      const ms = medianMs('node', [LAUNCHER, ...args], env);
      record('startup', `node  bm ${args.join(' ')}`, ms, 'node -e 0', nodeBase, args[0] === 'members' ? '<= 3x' : undefined);
    }
    const denoBase = medianMs(DENO, ['eval', '0'], env);
    record('startup', 'deno eval 0', denoBase, 'deno', denoBase);
    for (const args of [['--help'], ['members', 'list'], ['profiles', 'list']]) {
      const ms = medianMs(DENO, ['run', '-A', '--no-prompt', LAUNCHER, ...args], env);
      record('startup', `deno  bm ${args.join(' ')}`, ms, 'deno eval 0', denoBase, args[0] === 'members' ? '<= 2x' : undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SECTIONS: Record<string, () => void | Promise<void>> = { startup };

for (const [name, run] of Object.entries(SECTIONS)) {
  if (filters.length && !filters.some((f) => name.includes(f))) continue;
  await run();
}

const width = Math.max(...rows.map((r) => r.what.length));
process.stdout.write(`\n${'what'.padEnd(width)}  ${'ms'.padStart(8)}  ratio   baseline${' '.repeat(12)}target\n`);
for (const r of rows) {
  process.stdout.write(`${r.what.padEnd(width)}  ${r.ms.toFixed(1).padStart(8)}  ${r.ratio.toFixed(2).padStart(5)}x  ${r.baseline.padEnd(18)}  ${r.target ?? ''}\n`);
}
