/**
 * Explicit git calls, one visible line per call.
 *
 * git is run directly, with no shell between (each argument reaches git as it is), user-derived
 * refs go after `--` where git allows it, and tokens travel in the environment through
 * GIT_ASKPASS, never in a URL or argv.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BmError, redact } from './output.ts';
import { run } from './proc.ts';

/** Options for one git call. */
export interface GitOptions {
  env?: NodeJS.ProcessEnv;
  /** Token for https remotes, handed to git through GIT_ASKPASS. */
  token?: string;
  /** What the operator was doing, for the error message ("cloning the project"). */
  doing?: string;
}

const FALLBACK_IDENTITY = { GIT_AUTHOR_NAME: 'bm', GIT_AUTHOR_EMAIL: 'bm@localhost', GIT_COMMITTER_NAME: 'bm', GIT_COMMITTER_EMAIL: 'bm@localhost' };
let identityChecked: NodeJS.ProcessEnv | undefined;

async function identityEnv(): Promise<NodeJS.ProcessEnv> {
  if (identityChecked) return identityChecked;
  const configured = await run('git', ['config', '--get', 'user.email'], { env: process.env });
  identityChecked = configured.code === 0 && configured.stdout.trim() ? {} : FALLBACK_IDENTITY;
  return identityChecked;
}

/** Runs `git <args>` in `cwd` and returns trimmed stdout; failures become BmErrors with git's message. */
export async function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<string> {
  const askpass = options.token ? writeAskpass() : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(await identityEnv()),
    GIT_TERMINAL_PROMPT: '0',
    ...options.env,
    ...(askpass ? { GIT_ASKPASS: askpass.script, BM_GIT_TOKEN: options.token } : {}),
  };
  const fail = (detail: string) => {
    const doing = options.doing ?? `running git ${args[0]}`;
    return new BmError(redact(`git failed while ${doing} in ${cwd}: ${detail || 'no output'}`, [options.token]), 'Check the repository URL, your network and credentials.');
  };
  try {
    const result = await run('git', ['-c', 'transfer.credentialsInUrl=die', ...args], { cwd, env }).catch((error: Error) => {
      throw fail(error.message);
    });
    if (result.code !== 0) throw fail(gitReason(result.stderr));
    return result.stdout.trim();
  } finally {
    if (askpass) rmSync(askpass.dir, { recursive: true, force: true });
  }
}

/**
 * git's own reason from its stderr: the `fatal:`/`error:` lines (the first says what is wrong;
 * the generic advice git prints after them says nothing), else the last lines.
 */
export function gitReason(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const reasons = lines.filter((l) => /^(fatal|error):/.test(l));
  return (reasons.length ? reasons.slice(0, 2) : lines.slice(-3)).join(' ');
}

/** Like `git` but returns undefined instead of throwing (for probes such as "is there a remote?"). */
export async function gitMaybe(cwd: string, args: readonly string[]): Promise<string | undefined> {
  const result = await run('git', args, { cwd, env: process.env });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

function writeAskpass(): { dir: string; script: string } {
  const dir = mkdtempSync(path.join(process.getBuiltinModule('node:os').tmpdir(), 'bm-askpass-'));
  const script = path.join(dir, 'askpass.sh');
  // The script prints the token from the environment: the token itself never touches disk.
  writeFileSync(script, '#!/bin/sh\ncase "$1" in Username*) echo x-access-token ;; *) printf "%s\\n" "$BM_GIT_TOKEN" ;; esac\n');
  chmodSync(script, 0o700);
  return { dir, script };
}

/** `git init -b <branch>` in `dir`. */
export async function initRepo(dir: string, branch = 'main'): Promise<void> {
  await git(dir, ['init', '-q', '-b', branch], { doing: 'creating the repository' });
}

/** Stages everything (or `paths`) and commits; returns false when there was nothing to commit. */
export async function commitAll(dir: string, message: string, paths: readonly string[] = ['-A']): Promise<boolean> {
  const all = paths[0] === '-A';
  // With paths, only they are committed: whatever else is staged (a hire killed before its
  // commit, an operator's work) stays out of this commit.
  const only = all ? [] : ['--', ...paths];
  await git(dir, ['add', '-A', ...only], { doing: 'staging changes' });
  const staged = await gitMaybe(dir, ['diff', '--cached', '--quiet', ...only]);
  if (staged !== undefined) return false;
  await git(dir, ['commit', '-q', '-m', message, ...only], { doing: 'committing' });
  return true;
}

/** True when the work tree has uncommitted changes. */
export async function isDirty(dir: string): Promise<boolean> {
  return (await git(dir, ['status', '--porcelain'])) !== '';
}

/** Pushes `branch` to `remote`, with the token through GIT_ASKPASS when given. */
export async function push(dir: string, remote: string, branch: string, token?: string): Promise<void> {
  await git(dir, ['push', '-q', '-u', remote, `refs/heads/${branch}:refs/heads/${branch}`], { token, doing: `pushing ${branch} to ${remote}` });
}

/** Points remote `name` at `url`, adding it when missing. */
export async function setRemote(dir: string, name: string, url: string): Promise<void> {
  const current = await gitMaybe(dir, ['remote', 'get-url', name]);
  if (current === undefined) await git(dir, ['remote', 'add', name, url]);
  else if (current !== url) await git(dir, ['remote', 'set-url', name, url]);
}

/** Clones `url` into `dir` (quietly); `--` keeps a URL starting with `-` from being read as a flag. */
export async function clone(url: string, dir: string, options: GitOptions = {}): Promise<void> {
  await git(path.dirname(dir), ['clone', '-q', '--', url, dir], { ...options, doing: options.doing ?? `cloning ${url}` });
}
