/**
 * Skill sessions: the two ways bm hands a piece of work to an agent.
 *
 * - `interactiveSkillSession`: the operator talks to Claude Code in their own terminal, with one
 *   of the team's skills (`skills/<name>/SKILL.md`) appended to Claude's system prompt. `bm
 *   knowledge` is the first user; a future skill command only has to name its skill.
 * - `headlessRalphSession`: a one-shot `ralph run` that works without a terminal and ends on its
 *   own (formation managers).
 *
 * Both look their program up on PATH at call time (never cached, so tests and operators can
 * swap it), drop `CLAUDECODE` so a bm started from inside Claude Code can still start Claude,
 * and wait for the child to exit.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { endProcesses, signalGroup, superviseGroup, timings, which } from './proc.ts';
import { processesMarked } from './tree.ts';
import os from 'node:os';
import path from 'node:path';
import { validateName } from './names.ts';
import { BmError } from './output.ts';

/** The claude flags bm passes; the contract test checks each against the real `claude --help`. */
export const CLAUDE_FLAGS_USED = ['--append-system-prompt-file', '--continue'] as const;

/** The environment variable that marks what an interactive session started. */
const SESSION_MARKER = 'BM_SESSION';

/** Extra environment for a session; `undefined` removes a variable. */
export type SessionEnv = Record<string, string | undefined>;

/** How a session's child process ended. */
export interface SessionExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The absolute path of executable `name` in the PATH of `env`, or undefined (looked up now). */
export const findOnPath = which;

/** The environment a session child gets: bm's own plus `extra`, without `CLAUDECODE`. */
export function sessionEnv(extra: SessionEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  // Claude Code sets CLAUDECODE in its shells and refuses to start when it sees it.
  delete env.CLAUDECODE;
  return env;
}

function requireProgram(name: string, env: NodeJS.ProcessEnv, install: string): string {
  const found = findOnPath(name, env);
  if (!found) throw new BmError(`'${name}' not found in PATH`, install);
  return found;
}

/** Options of `interactiveSkillSession`. */
export interface SkillSessionOptions {
  /** The skill's name: its text is `<skillsDir>/<skill>/SKILL.md`. */
  skill: string;
  /** The team repo's `skills/` directory. */
  skillsDir: string;
  /** Where Claude runs (its file edits are relative to this). */
  cwd: string;
  /** The first user message, e.g. what to focus on. */
  opening?: string;
  env?: SessionEnv;
}

/**
 * Runs Claude Code interactively on the operator's terminal with a skill appended to its system
 * prompt (`claude --append-system-prompt-file <temp copy> [opening]`), and waits for it to exit.
 * The temp copy keeps the team's file out of reach of Claude's edits and is removed afterwards.
 */
export async function interactiveSkillSession(options: SkillSessionOptions): Promise<SessionExit> {
  const skillFile = path.join(options.skillsDir, validateName('name', options.skill), 'SKILL.md');
  if (!existsSync(skillFile)) {
    throw new BmError(`Skill '${options.skill}' not found at ${skillFile}`, 'Run `bm upgrade` to add bm\'s built-in skills to the team repo (or restore the file from git).');
  }
  return interactiveSession({ name: options.skill, prompt: readFileSync(skillFile, 'utf8'), cwd: options.cwd, opening: options.opening, env: options.env });
}

/** Options of `interactiveSession`. */
export interface InteractiveSessionOptions {
  /** Names the temp copy of the prompt (`<name>.md`). */
  name: string;
  /** Text appended to Claude's system prompt. */
  prompt: string;
  cwd: string;
  opening?: string;
  /** Resume the last conversation in `cwd` (`claude --continue`; Claude Code keeps its own history). */
  resume?: boolean;
  env?: SessionEnv;
}

/**
 * Runs Claude Code interactively on the operator's terminal with `prompt` appended to its system
 * prompt (`claude --append-system-prompt-file <temp file> [--continue] [opening]`), and waits for
 * it to exit. The temp file is private (0600) and removed afterwards.
 */
export async function interactiveSession(options: InteractiveSessionOptions): Promise<SessionExit> {
  const env = sessionEnv(options.env);
  const claude = requireProgram('claude', env, 'Install Claude Code (`npm install -g @anthropic-ai/claude-code`) and try again.');
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'bm-session-'));
  try {
    const promptFile = path.join(tempDir, `${validateName('name', options.name)}.md`);
    writeFileSync(promptFile, options.prompt, { mode: 0o600 });
    const args = ['--append-system-prompt-file', promptFile, ...(options.resume ? ['--continue'] : []), ...(options.opening ? [options.opening] : [])];
    return await runChild(claude, args, { cwd: options.cwd, env, stdio: 'inherit' }, true).exit;
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Options of `headlessRalphSession`. */
export interface RalphSessionOptions {
  /** The directory ralph runs in (its `.ralph/` state goes here). */
  cwd: string;
  /** The prompt file, passed as `-P` (relative paths are resolved against `cwd`). */
  promptFile: string;
  /** The ralph.yml to use, passed as `-c` (relative paths are resolved against `cwd`). */
  ralphYml: string;
  env?: SessionEnv;
  /** How many trailing output lines to return (default 40). */
  tailLines?: number;
  /** Sees every chunk of ralph's stdout and stderr as it arrives (e.g. to tee it to a log). */
  onOutput?: (chunk: string) => void;
  /** Stop ralph (SIGTERM, then SIGKILL 5 s later) when it runs longer than this. */
  timeoutMs?: number;
}

/** What a headless ralph run produced. */
export interface RalphSessionResult extends SessionExit {
  /** True when ralph exited 0. */
  ok: boolean;
  timedOut: boolean;
  /** The last lines of stdout and stderr, interleaved as they arrived. */
  tail: string;
  /** The argv given to ralph, for messages. */
  argv: string[];
}

/**
 * Runs `ralph run -c <ralphYml> -P <promptFile>` to completion in `cwd`, stdin closed and
 * output captured. A non-zero exit is returned, not thrown: the caller knows what it means.
 */
export async function headlessRalphSession(options: RalphSessionOptions): Promise<RalphSessionResult> {
  const ralphYml = path.resolve(options.cwd, options.ralphYml);
  const promptFile = path.resolve(options.cwd, options.promptFile);
  for (const [what, file] of [['ralph.yml', ralphYml], ['prompt file', promptFile]] as const) {
    if (!existsSync(file)) throw new BmError(`The ${what} ${file} does not exist`, 'Check the path given to the session.');
  }
  const env = sessionEnv(options.env);
  const ralph = requireProgram('ralph', env, 'Install ralph-orchestrator (`cargo install ralph-orchestrator`) and try again.');
  const argv = ['run', '-c', ralphYml, '-P', promptFile];
  let output = '';
  const keep = 64 * 1024;
  const child = runChild(ralph, argv, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }, false);
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    options.onOutput?.(text);
    output = (output + text).slice(-keep);
  };
  child.process.stdout?.on('data', collect);
  child.process.stderr?.on('data', collect);
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  // The group rather than child.kill: under Deno the latter makes the exit report the signal
  // sent instead of the exit code ralph chose.
  const signal = (name: NodeJS.Signals) => {
    if (child.process.pid !== undefined) signalGroup(child.process.pid, name);
  };
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), 5000);
  }, options.timeoutMs);
  try {
    const exit = await child.exit;
    const lines = output.replace(/\n$/, '').split('\n');
    const tail = lines.slice(-(options.tailLines ?? 40)).join('\n');
    return { ...exit, ok: exit.code === 0, timedOut, tail, argv };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
  }
}

type Stdio = 'inherit' | ['ignore', 'pipe', 'pipe'];

/**
 * Spawns `file` and resolves when it exits; whatever it started is ended then too. A headless
 * child runs in a process group of its own (lib/proc.ts `superviseGroup`). A child that shares
 * the operator's terminal must stay in the terminal's process group, so it is marked instead
 * (`BM_SESSION` in its environment, inherited by what it starts) and the marked processes left
 * when it exits are ended. With `shareTerminal`, bm ignores SIGINT and SIGQUIT meanwhile: the
 * terminal sends them to the child too, and it decides what Ctrl-C means, while bm lives on to
 * clean up.
 */
function runChild(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdio: Stdio }, shareTerminal: boolean) {
  const session = `${process.pid}-${randomUUID()}`;
  const child = shareTerminal
    ? spawn(file, args, { ...options, env: { ...options.env, [SESSION_MARKER]: session } })
    : spawn(file, args, { ...options, detached: true });
  const endGroup = shareTerminal ? async () => undefined : superviseGroup(child.pid);
  const ignore = () => {};
  if (shareTerminal) {
    process.on('SIGINT', ignore);
    process.on('SIGQUIT', ignore);
  }
  const exited = new Promise<SessionExit>((resolve, reject) => {
    child.once('error', (error) => reject(new BmError(`Could not start ${file}: ${error.message}`, 'Check that it is executable.')));
    child.once('exit', (code, signal) => {
      if (!child.stdout) return resolve({ code, signal });
      // Output still in the pipes arrives before 'close'; a grandchild that keeps them open must
      // not keep bm waiting, so give up on it after a moment.
      const giveUp = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code, signal });
      }, 1000);
      child.once('close', () => {
        clearTimeout(giveUp);
        resolve({ code, signal });
      });
    });
  });
  const exit = exited.finally(async () => {
    if (shareTerminal) {
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      await endProcesses(processesMarked(SESSION_MARKER, session), timings().stopKillMs);
    } else {
      await endGroup();
    }
  });
  return { process: child, exit };
}
