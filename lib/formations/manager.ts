/**
 * Running a formation's manager: its hat scripts in order (`runner: script`), or a one-shot
 * headless ralph session in the formation directory (`runner: ralph`) whose hats run the same
 * scripts. Either way the manager gets BM_HOME, BM_WORKZONE, BM_TEAM_NAME, BM_TEAM_REPO and the
 * team's tokens in its environment, never on its command line.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { memberEnv } from '../lifecycle/start.ts';
import type { ResolvedFormation } from '../lifecycle/formation.ts';
import { BmError, redact, write } from '../output.ts';
import { BM_ROOT, bmHome, inside } from '../paths.ts';
import { superviseGroup } from '../proc.ts';
import { headlessRalphSession } from '../session.ts';
import type { Team } from '../team.ts';

/** The environment of a formation manager and its scripts. */
export function managerEnv(team: Team, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...memberEnv(team.entry, base),
    BM_HOME: bmHome(base),
    BM_WORKZONE: path.dirname(team.paths.dir),
    BM_TEAM_NAME: team.name,
    BM_TEAM_REPO: team.paths.repo,
  };
}

/** Secret values of an environment, for `redact`. */
export function secretsOf(env: NodeJS.ProcessEnv): string[] {
  return [env.GH_TOKEN, env.RALPH_TELEGRAM_BOT_TOKEN, env.ANTHROPIC_API_KEY, env.CLAUDE_CODE_OAUTH_TOKEN].filter((s): s is string => Boolean(s));
}

/**
 * Points `<formation>/node_modules` at bm's own packages, so the hat scripts in the team repo's
 * copy of the formation resolve zx and yaml as they do in bm's source tree (the link is
 * gitignored). A real node_modules directory there is left alone.
 */
export function linkPackages(formationDir: string): void {
  if (!existsSync(path.join(formationDir, 'package.json'))) return;
  const link = path.join(formationDir, 'node_modules');
  const target = path.join(BM_ROOT, 'node_modules');
  if (path.resolve(formationDir).startsWith(`${BM_ROOT}${path.sep}`)) return;
  try {
    const stat = lstatSync(link);
    if (!stat.isSymbolicLink()) return;
    if (readlinkSync(link) === target) return;
    rmSync(link, { force: true });
  } catch {
    // No link yet.
  }
  symlinkSync(target, link, 'dir');
}

/** The formation's hat scripts, in the order `runner: script` runs them. */
export function scriptsOf(formation: ResolvedFormation): string[] {
  const scripts = formation.config?.manager?.scripts ?? [];
  if (scripts.length === 0) {
    throw new BmError(`Formation '${formation.name}' lists no hat scripts`, `Add \`manager.scripts\` to ${path.join(formation.dir, 'formation.yml')}.`);
  }
  return scripts.map((s) => {
    const file = inside(formation.dir, s);
    if (!existsSync(file)) throw new BmError(`Hat script ${file} does not exist`, `Fix \`manager.scripts\` in ${path.join(formation.dir, 'formation.yml')} or restore the file (\`bm upgrade\` adds missing built-in formations).`);
    return file;
  });
}

/** What one script run produced. */
export interface ScriptRun {
  code: number | null;
  /** Captured stdout (only when `capture` was asked for). */
  stdout: string;
}

/**
 * Runs one hat script with the runtime bm itself runs on (Node, which strips the types, or Deno), in the
 * formation directory. Its stderr, and its stdout unless captured or sent to bm's stdout, go to
 * bm's stderr: they are progress.
 */
export function runScript(formation: ResolvedFormation, script: string, args: string[], env: NodeJS.ProcessEnv, stdout: 'progress' | 'capture' | 'stdout'): Promise<ScriptRun> {
  const deno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
  const argv = deno ? ['run', '-A', '--no-prompt', script, ...args] : [script, ...args];
  const secrets = secretsOf(env);
  return new Promise((resolve, reject) => {
    // A group of its own: whatever the script leaves behind is ended when it exits.
    const child = spawn(process.execPath, argv, { cwd: formation.dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const endGroup = superviseGroup(child.pid);
    let captured = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stdout === 'capture') captured += text;
      else write(stdout === 'stdout' ? 1 : 2, redact(text, secrets));
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(redact(chunk.toString('utf8'), secrets)));
    child.once('error', (error) => void endGroup().then(() => reject(new BmError(`Could not run ${script}: ${error.message}`, 'Check the formation files.'))));
    child.once('close', (code) => void endGroup().then(() => resolve({ code, stdout: captured })));
  });
}

/** Runs the formation's manager to completion; throws when it fails. */
export async function runManager(formation: ResolvedFormation, env: NodeJS.ProcessEnv): Promise<void> {
  const manager = formation.config?.manager ?? {};
  linkPackages(formation.dir);
  if ((manager.runner ?? 'ralph') === 'script') {
    for (const script of scriptsOf(formation)) {
      const run = await runScript(formation, script, [], env, 'progress');
      if (run.code !== 0) {
        throw new BmError(
          `Formation manager '${formation.name}' failed (exit code: ${run.code ?? 'signal'}) in ${path.relative(formation.dir, script)}`,
          `See its error above; fix the cause and run \`bm start --formation ${formation.name}\` again.`,
        );
      }
    }
    return;
  }
  const secrets = secretsOf(env);
  const result = await headlessRalphSession({
    cwd: formation.dir,
    promptFile: manager.prompt ?? 'PROMPT.md',
    ralphYml: manager.ralph_yml ?? 'ralph.yml',
    env,
    onOutput: (chunk) => write(2, redact(chunk, secrets)),
    timeoutMs: Number(env.BM_FORMATION_TIMEOUT_MS ?? 30 * 60_000),
  });
  if (!result.ok) {
    throw new BmError(
      `Formation manager '${formation.name}' failed (exit code: ${result.code ?? result.signal}${result.timedOut ? ', timed out' : ''})`,
      `Its output is above; ralph ran in ${formation.dir}. Fix the cause and run \`bm start --formation ${formation.name}\` again.`,
    );
  }
}
