/**
 * `npm run bench`: bm's speed as ratios to baselines measured in the same run, so the figures
 * mean the same on a fast laptop and a slow CI box. Each figure is the median of several runs.
 *
 *   npm run bench                 every section
 *   npm run bench -- startup      only sections whose name contains "startup"
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { build } from './build.mjs';
import { denoBinary } from './deno.ts';
import { speedOnly } from './speed-lines.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
// bm runs dist/: build it from the current sources first, so this never runs stale code.
await build();
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.cjs');
const DENO_LAUNCHER = path.join(ROOT, 'scripts', 'bm.mjs');
/** Bare scripts making the same reads as a command, with none of bm's code (the file says more). */
const FLOOR = path.join(ROOT, 'tasks', 'bench-floor.cjs');
const DENO = denoBinary(ROOT);
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

/** How a section file (tasks/bench-*.ts) records its figures: `import type { RecordFn } from './bench.ts'`. */
export type RecordFn = typeof record;

/** Records one measurement against a baseline. */
export function record(section: string, what: string, ms: number, baseline: string, baselineMs: number, target?: string): void {
  rows.push({ section, what, ms, baseline, ratio: ms / baselineMs, target });
  process.stderr.write(`  ${what}: ${ms.toFixed(1)} ms = ${(ms / baselineMs).toFixed(2)}x ${baseline}${target ? ` (target ${target})` : ''}\n`);
}

/** A sandbox BM_HOME with one offline team and three members, for commands that need a team. */
function benchTeam(): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-'));
  const env = { ...process.env, BM_HOME: path.join(dir, 'bm-home'), GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
  for (const role of ['dev', 'qe', 'reviewer']) bm('hire', role);
  return { env, dir };
}

/**
 * startup: each bm command against a bare runtime of the same binary, run in turn round after
 * round (alternatingMedians), so load changes hit a figure and its baseline alike; `members list`
 * also beside the floor of its reads in a bare script.
 */
function startup(): void {
  process.stderr.write(`startup: bm start-up latency, Node ${process.version} (median of runs)\n`);
  const { env, dir } = benchTeam();
  try {
    const commands = [['--help'], ['members', 'list'], ['profiles', 'list']];
    const [nodeBase, floor, ...nodeTimes] = alternatingMedians([[process.execPath, ['-e', '0']], [process.execPath, [FLOOR, 'members']], ...commands.map((args): [string, string[]] => [process.execPath, [LAUNCHER, ...args]])], env);
    record('startup', 'node -e 0', nodeBase, 'node', nodeBase);
    commands.forEach((args, i) => record('startup', `node  bm ${args.join(' ')}`, nodeTimes[i], 'node -e 0', nodeBase, args[0] === 'members' ? '<= 1.2x' : undefined));
    record('startup', 'floor: members list\'s reads, no bm code', floor, 'node -e 0', nodeBase);
    const [denoBase, ...denoTimes] = alternatingMedians([[DENO, ['eval', '0']], ...commands.map((args): [string, string[]] => [DENO, ['run', '-A', '--no-prompt', DENO_LAUNCHER, ...args]])], env);
    record('startup', 'deno eval 0', denoBase, 'deno', denoBase);
    commands.forEach((args, i) => record('startup', `deno  bm ${args.join(' ')}`, denoTimes[i], 'deno eval 0', denoBase, args[0] === 'members' ? '<= 2.5x' : undefined));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic filler text for generated knowledge files; some mention "retry" and "budget". */
function noteText(i: number): string {
  const words = ['board', 'issue', 'review', 'branch', 'test', 'deploy', 'widget', 'design', 'label', 'status', 'merge', 'commit'];
  const lines = [`# Note ${i}: ${words[i % words.length]} practice`, ''];
  for (let l = 0; l < 25; l++) {
    lines.push(Array.from({ length: 12 }, (_, w) => words[(i * 7 + l * 3 + w * 5) % words.length]).join(' ') + '.');
  }
  if (i % 7 === 0) lines.push('Every call has a retry limit.');
  if (i % 11 === 0) lines.push('Keep the retry budget per hour small.');
  return `${lines.join('\n')}\n`;
}

/** `bm knowledge list` and `bm knowledge search` on a team with 2,000 generated knowledge files. */
function knowledge(): void {
  process.stderr.write('knowledge: list and search over 2,000 knowledge and invariant files\n');
  const { env, dir } = benchTeam();
  try {
    const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
    for (const project of ['widget', 'gadget']) bm('projects', 'add', '--no-check', path.join(dir, `${project}.git`));
    const repo = path.join(dir, 'workzone', 'bench', 'team');
    const members = readdirSync(path.join(repo, 'members')).filter((m) => !m.startsWith('.'));
    const dirs = ['knowledge', 'invariants', 'projects/widget/knowledge', 'projects/gadget/invariants',
      ...members.flatMap((m) => [`members/${m}/knowledge`, `members/${m}/invariants`, `members/${m}/projects/widget/knowledge`])];
    for (let i = 0; i < 2000; i++) {
      const target = path.join(repo, dirs[i % dirs.length], `note-${String(i).padStart(4, '0')}.md`);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, noteText(i));
    }
    const help = medianMs('node', [LAUNCHER, '--help'], env);
    record('knowledge', 'node  bm --help', help, 'bm --help', help);
    record('knowledge', 'node  bm knowledge list', medianMs('node', [LAUNCHER, 'knowledge', 'list'], env), 'bm --help', help, '<= 2x');
    record('knowledge', 'node  bm knowledge search retry budget', medianMs('node', [LAUNCHER, 'knowledge', 'search', 'retry', 'budget'], env), 'bm --help', help, '<= 3x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of `times` in ms. */
function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall time in ms of one command that must succeed. */
function timeOnce(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * sync: `bm teams sync` of 10 members x 2 projects from local bare remotes, against the same 40
 * `git clone` commands (project + team repo per workspace) run one after another; then a
 * re-sync with nothing to do, against the first sync.
 */
function sync(): void {
  process.stderr.write('sync: bm teams sync, 10 members x 2 projects, local bare remotes (median of runs)\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-sync-'));
  const env = { ...process.env, BM_HOME: path.join(dir, 'bm-home'), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'), GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'ignore' });
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  try {
    writeFileSync(env.GIT_CONFIG_GLOBAL, '[user]\n\tname = bench\n\temail = bench@localhost\n');
    const forks = ['api', 'web'].map((name) => {
      const seed = path.join(dir, 'seed', name);
      const bare = path.join(dir, 'remotes', `${name}.git`);
      mkdirSync(path.join(seed, 'src'), { recursive: true });
      for (let i = 0; i < 200; i++) writeFileSync(path.join(seed, 'src', `file${i}.ts`), `export const value${i} = ${i};\n`.repeat(20));
      git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
      git(seed, 'init', '-q', '-b', 'main');
      git(seed, 'add', '-A');
      git(seed, 'commit', '-q', '-m', 'seed');
      git(seed, 'push', '-q', bare, 'main');
      return { name, bare };
    });
    const teamDir = path.join(dir, 'workzone', 'bench');
    bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github', ...forks.flatMap((f) => ['--project', f.bare]));
    for (const role of ['po', 'architect', 'dev', 'qe', 'reviewer']) for (let n = 0; n < 2; n++) bm('hire', role);
    const teamRepo = path.join(teamDir, 'team');
    const members = readdirSync(path.join(teamRepo, 'members')).filter((m) => !m.startsWith('.'));
    const serialDir = path.join(dir, 'serial');
    const runs = Math.max(3, Math.min(RUNS, 5));
    const serial: number[] = [];
    const first: number[] = [];
    const again: number[] = [];
    for (let i = 0; i <= runs; i++) {
      rmSync(serialDir, { recursive: true, force: true });
      let serialMs = 0;
      for (const member of members) {
        for (const fork of forks) {
          const ws = path.join(serialDir, member, fork.name);
          mkdirSync(path.dirname(ws), { recursive: true });
          serialMs += timeOnce('git', ['clone', '-q', '--', fork.bare, ws], env);
          serialMs += timeOnce('git', ['clone', '-q', '--', teamRepo, path.join(ws, '.botminter')], env);
        }
      }
      for (const entry of readdirSync(teamDir)) if (entry !== 'team') rmSync(path.join(teamDir, entry), { recursive: true, force: true });
      const firstMs = timeOnce(process.execPath, [LAUNCHER, 'teams', 'sync'], env);
      const againMs = timeOnce(process.execPath, [LAUNCHER, 'teams', 'sync'], env);
      if (i === 0) continue; // warm-up
      serial.push(serialMs);
      first.push(firstMs);
      again.push(againMs);
    }
    const serialMs = median(serial);
    const firstMs = median(first);
    record('sync', `serial git clone x${members.length * forks.length * 2}`, serialMs, 'serial clones', serialMs);
    record('sync', `bm teams sync (${members.length}x${forks.length}, first)`, firstMs, 'serial clones', serialMs, '<= 1.0x');
    record('sync', 'bm teams sync (nothing to do)', median(again), 'first sync', firstMs, '<= 0.3x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * lifecycle: `bm status` with 10 running local members (the stub ralph), their workspaces synced
 * more than two seconds before, against `bm --help`, so health checks must not dominate, and
 * beside the floor of the same reads in a bare script; then
 * the wall time of `bm stop` for 10 members, graceful and with -f (members that honour SIGTERM),
 * as a ratio to the 2 s budget.
 */
function lifecycle(): void {
  process.stderr.write('lifecycle: bm status and bm stop with 10 running members (median of runs)\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-life-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: path.join(dir, 'bm-home'), PATH: `${path.join(ROOT, 'test', 'support', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    BM_START_CHECK_MS: '300', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
    GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost',
  };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  const statePids = (): number[] => {
    try {
      return Object.values(JSON.parse(readFileSync(path.join(dir, 'bm-home', 'state.json'), 'utf8')).members as Record<string, { pid: number }>).map((e) => e.pid);
    } catch {
      return [];
    }
  };
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let previous: number[] = [];
  const start = () => {
    // A stopped stub stays a zombie until init reaps it, and the stub refuses to start next to one.
    const deadline = Date.now() + 10_000;
    while (previous.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 50);
    bm('start');
    previous = statePids();
    if (previous.length !== 10) throw new Error(`expected 10 running members, state has ${previous.length}`);
  };
  try {
    writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n');
    bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github');
    for (const role of ['po', 'architect', 'dev', 'qe', 'reviewer']) for (let n = 0; n < 2; n++) bm('hire', role);
    bm('teams', 'sync');
    const synced = Date.now();
    start();
    // Measured once the synced workspaces have settled: for two seconds after a write, status
    // fingerprints each ralph.yml (lib/parse-cache.ts keptByIdentity), about 1 ms for 10 members.
    Atomics.wait(pause, 0, 0, Math.max(0, synced + 2500 - Date.now()));
    bm('status');
    const [nodeBase, help, floor, status] = alternatingMedians([[process.execPath, ['-e', '0']], [process.execPath, [LAUNCHER, '--help']], [process.execPath, [FLOOR, 'status']], [process.execPath, [LAUNCHER, 'status']]], env);
    record('lifecycle', 'node -e 0', nodeBase, 'node', nodeBase);
    record('lifecycle', 'node  bm --help', help, 'node -e 0', nodeBase);
    record('lifecycle', 'node  bm status (10 running)', status, 'node -e 0', nodeBase, '<= 1.3x');
    record('lifecycle', 'node  bm status (10 running)', status, 'bm --help', help, '<= 1.5x');
    record('lifecycle', 'floor: status\'s reads, no bm code', floor, 'node -e 0', nodeBase);
    const runs = Math.max(3, Math.min(RUNS, 5));
    for (const args of [['stop'], ['stop', '-f']]) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        if (i > 0 || args.length > 1) start();
        times.push(timeOnce(process.execPath, [LAUNCHER, ...args], env));
      }
      record('lifecycle', `bm ${args.join(' ')} (10 members)`, median(times), '2 s budget', 2000, '< 1x');
    }
  } finally {
    try {
      bm('stop', '-f');
    } catch {
      // Nothing left to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Median wall times in ms of `commands` run in turn, round after round (after one warm-up
 * round): a load change on a shared machine then hits a figure and its baseline alike.
 */
function alternatingMedians(commands: [string, string[]][], env: NodeJS.ProcessEnv, runs = RUNS): number[] {
  const times = commands.map((): number[] => []);
  for (let round = 0; round <= runs; round++) {
    commands.forEach(([command, args], i) => {
      const ms = timeOnce(command, args, env);
      if (round > 0) times[i].push(ms);
    });
  }
  return times.map(median);
}

/**
 * The k8s formation against kube-sim: the skip-the-manager path of `bm start` and `bm status`, 10
 * pods. Both read the cluster with one look of bm's own API client (lib/endpoints/k8s.ts); the
 * baselines are one `kubectl get pods` of the team's namespace and `bm --help`; the floor is the
 * same three GETs in a bare script.
 */
async function k8s(): Promise<void> {
  process.stderr.write('k8s: bm start --formation k8s (healthy, nothing to do) and bm status with 10 pods on kube-sim (median of runs)\n');
  const { kubectlProblem } = await import('../test/support/kube-sim/kubectl.ts');
  const problem = await kubectlProblem();
  if (problem) {
    process.stderr.write(`  skipped: ${problem}\n`);
    return;
  }
  const { startKubeSim } = await import('../test/support/kube-sim/index.ts');
  const sim = await startKubeSim({ timeScale: 0.05 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-k8s-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: path.join(dir, 'bm-home'), KUBECONFIG: sim.kubeconfigPath, KUBECACHEDIR: sim.env.KUBECACHEDIR,
    GH_TOKEN: 'bench-token-not-a-real-one', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
    GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost',
  };
  const bm = (...args: string[]) => execFileSync(process.execPath, [LAUNCHER, ...args], { env, stdio: 'ignore' });
  try {
    writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n');
    // The member pods clone the team repo from its remote.
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path.join(dir, 'bench-team.git')], { env });
    bm('init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'), '--no-github', '--remote', path.join(dir, 'bench-team.git'));
    for (const role of ['po', 'architect', 'dev', 'qe', 'reviewer']) for (let n = 0; n < 2; n++) bm('hire', role);
    const formation = path.join(dir, 'workzone', 'bench', 'team', 'formations', 'k8s', 'formation.yml');
    writeFileSync(formation, readFileSync(formation, 'utf8').replace(/^( {2}runner:).*$/m, '$1 script'));
    bm('start', '--formation', 'k8s');
    const getPods: [string, string[]] = ['kubectl', [...sim.kubectlFlags('10s'), 'get', 'pods', '-n', 'botminter-bench', '-l', 'app.kubernetes.io/managed-by=bm']];
    const [kubectl, start] = alternatingMedians([getPods, ['node', [LAUNCHER, 'start', '--formation', 'k8s']]], env);
    record('k8s', 'kubectl get pods -l app.kubernetes.io/managed-by=bm', kubectl, 'kubectl get pods', kubectl);
    record('k8s', 'bm start --formation k8s (up to date)', start, 'kubectl get pods', kubectl, '<= 2x');
    const [help, kubectlAgain, floor, status] = alternatingMedians([['node', [LAUNCHER, '--help']], getPods, ['node', [FLOOR, 'k8s']], ['node', [LAUNCHER, 'status']]], env);
    record('k8s', 'node  bm --help', help, 'bm --help', help);
    record('k8s', 'kubectl get pods (any kubectl call)', kubectlAgain, 'bm --help', help);
    record('k8s', 'node  bm status (10 pods)', status, 'bm --help', help, '<= 1.5x');
    record('k8s', 'floor: status\'s three GETs, no bm code', floor, 'bm --help', help);
  } finally {
    try {
      bm('stop');
    } catch {
      // Nothing left to stop.
    }
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** daemon: webhook acknowledgement latency, delivery-to-spawn delay and memory under 500 deliveries (tasks/bench-daemon.ts). */
async function daemon(): Promise<void> {
  const { benchDaemon } = await import('./bench-daemon.ts');
  await benchDaemon(record);
}

/**
 * inbox: `bm inbox` against the fake GitHub serving a board of 500 items (18 of them waiting for
 * the operator), against `bm --help`, run in turn. The fake runs in this process, so commands run
 * asynchronously here. Target: at most 2 GitHub requests, and no more than 2x `bm --help` plus
 * the fake's own answer time for the inbox query.
 */
async function inbox(): Promise<void> {
  process.stderr.write('inbox: bm inbox on a 500-item board (fake GitHub), median of runs\n');
  const { execFile } = await import('node:child_process');
  const { startFakeGitHub } = await import('../test/support/fake-github.ts');
  const token = 'bench-inbox-token-not-a-real-one';
  const fake = await startFakeGitHub({ token });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-inbox-'));
  writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = bench\n\temail = bench@localhost\n[protocol "file"]\n\tallow = always\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env, BM_HOME: path.join(dir, 'bm-home'), GH_TOKEN: token, BM_GITHUB_API_URL: fake.url,
    GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'),
  };
  const run = (command: string, args: string[]) => new Promise<number>((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile(command, args, { env }, (error) => (error ? reject(error) : resolve(Number(process.hrtime.bigint() - started) / 1e6)));
  });
  try {
    await run(process.execPath, [LAUNCHER, 'init', '--non-interactive', '--team-name', 'bench', '--profile', 'scrum', '--workzone', path.join(dir, 'workzone'),
      '--github-repo', 'octocat/bench-team', '--hire', 'dev:alice']);
    for (let i = 0; i < 500; i++) {
      const issue = fake.addIssue({ title: `Item ${i}`, board: 'bench Board', status: i % 40 === 0 ? 'human:accept' : 'dev:implement', labels: i % 40 === 0 || i % 97 === 0 ? ['needs-human'] : [] });
      for (let c = 0; c < 3; c++) fake.addComment(issue, `### 💻 dev — 2026-03-02T16:40:00Z\n\nComment ${c} on item ${i}\n\nMember: dev-alice`);
    }
    const before = fake.requests.length;
    await run(process.execPath, [LAUNCHER, 'inbox', '--json']);
    const requests = fake.requests.length - before;
    const query = fake.requests.at(-1)?.body;
    const fakeTimes: number[] = [];
    const help: number[] = [];
    const inboxTimes: number[] = [];
    for (let round = 0; round <= RUNS; round++) {
      const started = performance.now();
      await fetch(`${fake.url}/graphql`, { method: 'POST', headers: { authorization: `token ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(query) });
      const fakeMs = performance.now() - started;
      const helpMs = await run(process.execPath, [LAUNCHER, '--help']);
      const inboxMs = await run(process.execPath, [LAUNCHER, 'inbox']);
      if (round === 0) continue;
      fakeTimes.push(fakeMs);
      help.push(helpMs);
      inboxTimes.push(inboxMs);
    }
    const helpMs = median(help);
    const fakeMs = median(fakeTimes);
    record('inbox', 'node  bm --help', helpMs, 'bm --help', helpMs);
    record('inbox', 'fake GitHub: the inbox query alone', fakeMs, 'bm --help', helpMs);
    record('inbox', `node  bm inbox (500 items, ${requests} GitHub request${requests === 1 ? '' : 's'}) minus the fake's time`, median(inboxTimes) - fakeMs, 'bm --help', helpMs, '<= 2x, <= 2 requests');
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** junk: the daemon's memory under 16 parallel unsigned 24 MB bodies, beside a bare server (tasks/bench-junk.ts). */
async function junk(): Promise<void> {
  const { benchJunk } = await import('./bench-junk.ts');
  await benchJunk(record);
}

/** console: first paint and state-change-to-page delay of `bm console` in headless Chromium (tasks/bench-console.ts). */
async function consoleBench(): Promise<void> {
  const { benchConsole } = await import('./bench-console.ts');
  await benchConsole(record);
}

/**
 * polling: GitHub requests in one idle hour of poll mode (--interval 60) for a team with one
 * project repo on GitHub, time simulated: the event pollers (team repo and project repo) and the
 * board poller each run `pollOnce` against the fake GitHub (real HTTP, its ETags and
 * X-Poll-Interval 60) and the delays they return are added up to an hour. Baseline: the fewest
 * requests those intervals allow (one events request per repo, 304s included, and one board query
 * per 60 s). Target 1.0x.
 */
async function polling(): Promise<void> {
  process.stderr.write('polling: GitHub requests per idle hour in poll mode (simulated hour)\n');
  const { startFakeGitHub } = await import('../test/support/fake-github.ts');
  const { Poller } = await import('../lib/daemon/poller.ts');
  const { BoardPoller } = await import('../lib/daemon/board.ts');
  const { Journal } = await import('../lib/daemon/journal.ts');
  const { Logger, RotatingFile } = await import('../lib/daemon/log.ts');
  const { createGitHub } = await import('../lib/github.ts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-bench-poll-'));
  const token = 'bench-polling-token-not-a-real-one';
  const github = await startFakeGitHub({ token });
  try {
    await github.addRepo('octocat/alpha');
    await github.addRepo('octocat/widget');
    const board = github.addBoard('octocat', 'alpha Board');
    github.addIssue({ title: 'one', board: 'alpha Board', status: 'Todo' });
    const gh = await createGitHub({ token, baseUrl: github.url });
    const log = new Logger(new RotatingFile(path.join(dir, 'daemon.log'), 1 << 20));
    const journal = new Journal(path.join(dir, 'journal.jsonl'), 1 << 20);
    const repos = ['octocat/alpha', 'octocat/widget'];
    const eventPollers = repos.map((repo) => new Poller({
      gh, repo, intervalSeconds: 60, cursorFile: path.join(dir, `poll.${repo.replace('/', '.')}.json`), events: new Set(['issues']), log, journal, role: 'poll',
      coordinates: { repos: new Set(repos), board: board.id, identity: 'octocat' }, wake: () => undefined, seen: () => undefined,
    }));
    const boardPoller = new BoardPoller({ gh, board: board.id, intervalSeconds: 60, stateFile: path.join(dir, 'board.json'), log, journal, wake: () => undefined, seen: () => undefined });
    const before = github.requests.length;
    const hour = 3600_000;
    for (const poller of [...eventPollers, boardPoller]) for (let t = 0; t < hour;) t += await poller.pollOnce();
    const requests = github.requests.length - before;
    const minimum = (repos.length + 1) * (hour / 60_000);
    const notModified = github.requests.slice(before).filter((r) => r.path.endsWith('/events')).length;
    record('polling', `GitHub requests per idle hour, poll mode, team repo + 1 project repo (${notModified} events requests, 304s included, + board queries)`, requests, 'fewest the intervals allow', minimum, '1.0x');
  } finally {
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** wakes: runs per member for a 200-event stream of relevant, foreign and self-caused deliveries (tasks/bench-wakes.ts). */
async function wakes(): Promise<void> {
  const { benchWakes } = await import('./bench-wakes.ts');
  await benchWakes(record);
}

const SECTIONS: Record<string, () => void | Promise<void>> = { startup, knowledge, sync, lifecycle, k8s, daemon, junk, console: consoleBench, inbox, polling, wakes };

for (const [name, run] of Object.entries(SECTIONS)) {
  if (filters.length && !filters.some((f) => name.includes(f))) continue;
  await run();
}

// The production lines that exist only for speed (marked @speed-only in the code).
const pieces = speedOnly();
process.stdout.write('\nProduction lines that exist only for speed (@speed-only markers):\n');
for (const p of pieces) process.stdout.write(`${String(p.lines).padStart(6)}  ${p.file}: ${p.why}\n`);
process.stdout.write(`${String(pieces.reduce((n, p) => n + p.lines, 0)).padStart(6)}  in total (target: under 300)\n`);

const width = Math.max(...rows.map((r) => r.what.length));
process.stdout.write(`\n${'what'.padEnd(width)}  ${'ms'.padStart(8)}  ratio   baseline${' '.repeat(12)}target\n`);
for (const r of rows) {
  process.stdout.write(`${r.what.padEnd(width)}  ${r.ms.toFixed(1).padStart(8)}  ${r.ratio.toFixed(2).padStart(5)}x  ${r.baseline.padEnd(18)}  ${r.target ?? ''}\n`);
}
