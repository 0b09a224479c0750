/**
 * The `wakes` section of `npm run bench`: runs per member for a stream of 200 signed deliveries
 * (recorded `@octokit/webhooks-examples` payloads) to a real daemon in webhook mode, for a team
 * on the fake GitHub (repository octocat/bench-team, identity octocat from `GET /user`) with two
 * members (stub ralph; a run lasts longer than the stream, as real runs do).
 *
 * The stream comes in bursts of 10 every 100 ms; a third of it is relevant (an issue opened by
 * someone else in the team's repo), a third is about a foreign repository, a third is the team's
 * own comments. Figures (counts, not ms):
 *
 * - runs per member for the mixed stream, against the fewest possible: 2 (the first relevant
 *   event starts a run, everything that arrives during it is one more); target 1.0x;
 * - the foreign and self-caused events alone, at the same moments, against the same 2 (target 0x);
 * - the mixed stream with `--max-runs-per-hour 1`, against that budget (target 1.0x; the rest
 *   waits as one coalesced run per member, held for the next window).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { deliver, example } from '../test/support/daemon.ts';
import { startFakeGitHub } from '../test/support/fake-github.ts';
import type { RecordFn } from './bench.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.cjs');
const STREAM = 200;
const BURST = 10;
const PACE_MS = 100;
const MEMBERS = 2;
const BUDGET = 1;
/** The fewest runs per member a stream can cause when its events keep coming during the first run. */
const FEWEST = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kind = 'relevant' | 'foreign' | 'self';

/** Runs the section, recording each figure with `record`. */
export async function benchWakes(record: RecordFn): Promise<void> {
  process.stderr.write(`wakes: runs per member for ${STREAM} deliveries (relevant, foreign, self-caused), 2 members (stub ralph)\n`);
  const token = 'bench-wakes-token-not-a-real-one';
  const github = await startFakeGitHub({ token });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-wakes-'));
  const bmHome = path.join(dir, 'bm-home');
  writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n[protocol "file"]\n\tallow = always\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: bmHome, GH_TOKEN: token, BM_GITHUB_API_URL: github.url, PATH: `${path.join(ROOT, 'test', 'support', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    BM_STOP_KILL_MS: '1000', STUB_RALPH_DELAY_MS: '5000', STUB_RALPH_TICK_MS: '20', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
  };
  const bm = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [LAUNCHER, ...args], { env }, (error, stdout, stderr) => (error ? reject(new Error(`bm ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
  const journal = () => readFileSync(path.join(bmHome, 'daemon', 'bench', 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; member?: string });
  const payloads: Record<Kind, [string, Record<string, unknown>]> = {
    relevant: ['issues', example('issues', 'opened', 'octocat/bench-team')],
    foreign: ['issues', example('issues', 'opened')],
    self: ['issue_comment', { ...example('issue_comment', 'created', 'octocat/bench-team'), sender: { login: 'octocat' } }],
  };
  const kinds: Kind[] = ['relevant', 'foreign', 'self'];

  /** Sends the stream (only the given kinds, at their moments) to a fresh daemon; returns runs per member and held runs. */
  const stream = async (only: readonly Kind[], budget: number): Promise<{ runs: number; held: number }> => {
    const started = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(await bm('daemon', 'start', '--port', '0', '--max-runs-per-hour', String(budget)));
    if (!started) throw new Error('the daemon did not start');
    const port = Number(started[1]);
    const mark = journal().length;
    const secret = /webhook_secret: (\S+)/.exec(readFileSync(path.join(bmHome, 'config.yml'), 'utf8'))?.[1] ?? '';
    for (let i = 0; i < STREAM; i += BURST) {
      const burst = Array.from({ length: BURST }, (_, j) => kinds[(i + j) % 3]).filter((k) => only.includes(k));
      await Promise.all(burst.map((k) => deliver(port, secret, payloads[k][0], payloads[k][1])));
      await sleep(PACE_MS);
    }
    // Settled: no run in progress for a second (runs the budget holds wait for the next window).
    for (let quiet = 0; quiet < 1000;) {
      const status = JSON.parse(await bm('daemon', 'status', '--json')) as { inProgress: number };
      quiet = status.inProgress === 0 ? quiet + 100 : 0;
      await sleep(100);
    }
    await bm('daemon', 'stop');
    const since = journal().slice(mark);
    return { runs: since.filter((e) => e.type === 'run.start').length / MEMBERS, held: since.filter((e) => e.type === 'run.budget').length };
  };

  try {
    await bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--github-repo', 'octocat/bench-team', '--hire', 'dev:alice', '--hire', 'qe:quinn');
    await bm('teams', 'sync');
    const mixed = await stream(kinds, 1000);
    const noise = await stream(['foreign', 'self'], 1000);
    const capped = await stream(kinds, BUDGET);
    const count = Math.round(STREAM / 3);
    record('wakes', `runs per member, ${STREAM} events (~${count} relevant, ~${count} foreign, ~${count} own comments)`, mixed.runs, 'fewest possible (2)', FEWEST, '1.0x');
    record('wakes', `runs per member, the ~${STREAM - count} foreign and own events alone`, noise.runs, 'fewest possible (2)', FEWEST, '0x');
    record('wakes', `runs per member, the ${STREAM} events with --max-runs-per-hour ${BUDGET} (${capped.held} members held for the next window)`, capped.runs, 'the budget', BUDGET, '1.0x');
  } finally {
    await bm('daemon', 'stop').catch(() => undefined);
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
