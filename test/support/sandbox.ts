/**
 * An isolated world for one test: temp HOME, BM_HOME, XDG dirs and git config, the stub ralph
 * and claude first on PATH, and a `bm` runner that drives the real CLI in a child process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const STUB_BIN = path.join(ROOT, 'test', 'support', 'bin');

/**
 * The command line that runs bm in the runtime running the tests: `node scripts/bm.cjs`, or
 * under `npm run test:deno` `deno run -A --no-prompt scripts/bm.mjs`, Deno's launcher (Deno
 * grants a script no permissions unless told, and would stop to ask on a terminal).
 */
export const BM_COMMAND: readonly string[] = 'Deno' in globalThis
  ? [process.execPath, 'run', '-A', '--no-prompt', path.join(ROOT, 'scripts', 'bm.mjs')]
  : [process.execPath, path.join(ROOT, 'scripts', 'bm.cjs')];

/** What one `bm` run produced. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

/** One test's private world. */
export interface Sandbox {
  dir: string;
  home: string;
  bmHome: string;
  workzone: string;
  env: NodeJS.ProcessEnv;
  /** Runs `bm <args>` and resolves when it exits. */
  bm(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Runs `bm <args>` and fails the test with its output unless it exits 0. */
  ok(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Parses the stdout of a successful `bm <args>` (which should include --json) as JSON. */
  json<T = unknown>(args: string[], options?: RunOptions): Promise<T>;
  /** Runs `git <args>` in `cwd` with the sandbox's environment; returns its trimmed stdout, throws on failure. */
  git(cwd: string, ...args: string[]): string;
  /**
   * Removes the sandbox. Any process still running with its working directory inside the
   * sandbox (a member bm forgot to stop) is killed first and reported (see `ORPHAN_MARKER`).
   * It never throws, so in a test hook it can neither hide the test's own error nor stop the
   * rest of the file.
   */
  cleanup(): void;
}

/** A live process found by `processesUnder`. */
export interface StrayProcess {
  pid: number;
  cwd: string;
  command: string;
}

/** Live processes whose working directory is `dir` or below it (Linux /proc; none elsewhere). */
export function processesUnder(dir: string): StrayProcess[] {
  let root: string;
  let pids: string[];
  try {
    root = realpathSync(dir);
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: StrayProcess[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd !== root && !cwd.startsWith(`${root}/`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      found.push({ pid, cwd, command });
    } catch {
      // Gone meanwhile, or not ours to inspect.
    }
  }
  return found;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** SIGKILLs every process under `dir` and waits (up to 5 s) until they are gone; returns what it found. */
export function killProcessesUnder(dir: string): StrayProcess[] {
  const strays = processesUnder(dir);
  for (const p of strays) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 5000;
  while (strays.length > 0 && processesUnder(dir).length > 0 && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
  return strays;
}

/**
 * Starts the orphan report `cleanup()` prints on stderr. tasks/test.ts counts each as a failed
 * test and names them in its summary line.
 */
export const ORPHAN_MARKER = 'ORPHAN CHECK FAILED:';

/** The orphan report for processes a test left running in its sandbox. */
export function orphanReport(dir: string, strays: readonly StrayProcess[]): string {
  return `${ORPHAN_MARKER} a test left ${strays.length} process(es) running in its sandbox ${dir} (now killed):\n${strays.map((p) => `  ${p.pid} in ${p.cwd}: ${p.command}`).join('\n')}\n`;
}

const PASSED_THROUGH = ['PATH', 'LANG', 'TERM', 'TMPDIR', 'SYSTEMROOT', 'NODE_COMPILE_CACHE', 'NODE_V8_COVERAGE'];

/**
 * Where Deno keeps the TypeScript it compiled: the test process's own cache (DENO_DIR, else
 * Deno's default on Linux), shared by every bm run under Deno as NODE_COMPILE_CACHE is under
 * Node. Left to follow a sandbox's HOME, each sandbox would compile bm anew, into a cache that is
 * not bm's.
 */
const DENO_DIR = process.env.DENO_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'deno');

/**
 * Creates a sandbox; call `cleanup()` in the test's teardown. `command` runs bm another way
 * than BM_COMMAND (an installed package's `bin/bm`, say).
 */
export function createSandbox(extraEnv: NodeJS.ProcessEnv = {}, command: readonly string[] = BM_COMMAND): Sandbox {
  return sandboxAt(mkdtempSync(path.join(os.tmpdir(), 'bm-test-')), extraEnv, command);
}

/** A bare repo `<name>.git` in the sandbox with one commit on main (a project fork, say); its path. */
export function seededRepo(sandbox: Sandbox, name: string): string {
  const bare = path.join(sandbox.dir, `${name}.git`);
  const seed = path.join(sandbox.dir, `${name}-seed`);
  sandbox.git(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', bare);
  sandbox.git(sandbox.dir, 'init', '-q', '-b', 'main', seed);
  writeFileSync(path.join(seed, 'README.md'), `# ${name}\n`);
  sandbox.git(seed, 'add', '-A');
  sandbox.git(seed, 'commit', '-q', '-m', 'initial');
  sandbox.git(seed, 'push', '-q', bare, 'main');
  return bare;
}

/** Where each prepared state of this test process is: the sandbox path it was made at. */
const prepared = new Map<string, string>();

/**
 * A sandbox that starts from a state made once per test process, for a file whose tests each
 * need the same team: the first call for `key` runs `prepare` (real bm commands: init, hire,
 * sync) in a fresh sandbox and keeps a copy of the result; each later call puts that copy back
 * at the same path, so every absolute path inside it (config, git remotes, links) still holds.
 * A file's tests run one after another, so the previous sandbox of a key has been cleaned up
 * by then; `prepare` must leave no process running.
 */
export async function preparedSandbox(key: string, prepare: (sandbox: Sandbox) => Promise<void>, extraEnv: NodeJS.ProcessEnv = {}): Promise<Sandbox> {
  const dir = prepared.get(key);
  if (dir !== undefined) {
    if (existsSync(dir)) throw new Error(`preparedSandbox('${key}'): the previous sandbox at ${dir} is still there; clean it up first`);
    execFileSync('cp', ['-a', `${dir}.prepared`, dir]);
    return sandboxAt(dir, extraEnv, BM_COMMAND);
  }
  const sandbox = createSandbox(extraEnv);
  try {
    await prepare(sandbox);
    const strays = processesUnder(sandbox.dir);
    if (strays.length > 0) throw new Error(`preparedSandbox('${key}'): preparing left processes running: ${strays.map((p) => p.command).join('; ')}`);
    execFileSync('cp', ['-a', sandbox.dir, `${sandbox.dir}.prepared`]);
  } catch (error) {
    sandbox.cleanup();
    throw error;
  }
  if (prepared.size === 0) process.on('exit', () => prepared.forEach((at) => rmSync(`${at}.prepared`, { recursive: true, force: true })));
  prepared.set(key, sandbox.dir);
  return sandbox;
}

function sandboxAt(dir: string, extraEnv: NodeJS.ProcessEnv, command: readonly string[]): Sandbox {
  const home = path.join(dir, 'home');
  const bmHome = path.join(home, '.botminter');
  const workzone = path.join(dir, 'workzone');
  for (const d of [home, path.join(home, '.config'), path.join(home, '.local', 'share'), path.join(home, '.local', 'state')]) mkdirSync(d, { recursive: true });
  const gitconfig = path.join(home, '.gitconfig');
  // No automatic maintenance: in a sandbox that lives for seconds it is only another git process
  // after each commit and fetch.
  writeFileSync(gitconfig, '[user]\n\tname = bm test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n[maintenance]\n\tauto = false\n[gc]\n\tauto = 0\n');
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED_THROUGH) if (process.env[key] !== undefined) env[key] = process.env[key];
  Object.assign(env, {
    HOME: home,
    BM_HOME: bmHome,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    DENO_DIR,
    PATH: `${STUB_BIN}${path.delimiter}${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    // Daemon runs default to nice 19; beside other jobs on a loaded machine they would starve and
    // every wait for a run would time out. The test of the priority itself sets it back.
    BM_DAEMON_RUN_NICE: '0',
    ...extraEnv,
  });

  const bm = (args: string[], options: RunOptions = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(command[0], [...command.slice(1), ...args], { cwd: options.cwd ?? dir, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bm ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, options.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(options.input ?? '');
    });

  const ok = async (args: string[], options?: RunOptions): Promise<RunResult> => {
    const result = await bm(args, options);
    if (result.code !== 0) throw new Error(`bm ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return result;
  };

  return {
    dir, home, bmHome, workzone, env, bm, ok,
    json: async <T>(args: string[], options?: RunOptions) => JSON.parse((await ok(args, options)).stdout) as T,
    git: (cwd, ...args) => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim(),
    cleanup: () => {
      // git may leave a detached `gc --auto` or `maintenance` behind: kill it, but it is no leak.
      const strays = killProcessesUnder(dir).filter((p) => !/^(\S*\/)?git(-\S+)?$/.test(p.command.split(' ')[0]));
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch (error) {
        process.stderr.write(`sandbox cleanup: could not remove ${dir}: ${(error as Error).message}\n`);
      }
      if (strays.length > 0) process.stderr.write(`\n${orphanReport(dir, strays)}`);
    },
  };
}
