/**
 * An isolated world for one test: temp HOME, BM_HOME, XDG dirs and git config, the stub ralph
 * and claude first on PATH, and a `bm` runner that drives the real CLI in a child process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const STUB_BIN = path.join(ROOT, 'test', 'support', 'bin');
const LAUNCHER = path.join(ROOT, 'scripts', 'bm.mjs');

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
  cleanup(): void;
}

const PASSED_THROUGH = ['PATH', 'LANG', 'TERM', 'TMPDIR', 'SYSTEMROOT', 'BM_CACHE_DIR', 'BM_NO_COMPILE_CACHE', 'NODE_V8_COVERAGE'];

/** Creates a sandbox; call `cleanup()` in the test's teardown. */
export function createSandbox(extraEnv: NodeJS.ProcessEnv = {}): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-test-'));
  const home = path.join(dir, 'home');
  const bmHome = path.join(home, '.botminter');
  const workzone = path.join(dir, 'workzone');
  for (const d of [home, path.join(home, '.config'), path.join(home, '.local', 'share'), path.join(home, '.local', 'state')]) mkdirSync(d, { recursive: true });
  const gitconfig = path.join(home, '.gitconfig');
  writeFileSync(gitconfig, '[user]\n\tname = bm test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n');
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED_THROUGH) if (process.env[key] !== undefined) env[key] = process.env[key];
  Object.assign(env, {
    HOME: home,
    BM_HOME: bmHome,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    PATH: `${STUB_BIN}${path.delimiter}${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    ...extraEnv,
  });

  const bm = (args: string[], options: RunOptions = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: options.cwd ?? dir, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
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
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
