/**
 * Launching members on the local formation: one detached `ralph run -P PROMPT.md` (or one in a
 * window of the team's tmux session, lib/tmux.ts) per
 * provisioned workspace that is not already running, recorded in state.json (pid + start time),
 * checked after a short liveness window, then written to topology.json.
 *
 * The check "is it running?" and the launch happen under the state lock, so two `bm start` at
 * the same moment launch each workspace once: the second one finds the first one's entries.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { TeamEntry } from '../config.ts';
import { liftHolds } from '../daemon/holds.ts';
import { readAgentFile } from '../files.ts';
import { BmError } from '../output.ts';
import { tailLines } from '../logs.ts';
import { isOurs, procInfo, spawnDetached, startTimeOf, which, type Launched, type Timings } from '../proc.ts';
import type { Topology } from '../schema.ts';
import { readState, stateKey, teamEntries, updateState, type StateEntry } from '../state.ts';
import type { Team } from '../team.ts';
import { requireTmux, spawnInTmux, type TmuxPlace } from '../tmux.ts';
import { updateTopology } from '../topology.ts';
import { memberMarker } from '../tree.ts';
import { slotsOf, type Slot } from './slots.ts';

/** What happened to one slot. */
export interface LaunchResult {
  key: string;
  member: string;
  project: string | null;
  status: 'started' | 'already-running' | 'exited' | 'no-workspace' | 'error';
  pid?: number;
  /** Start-time token of `pid`. */
  started?: string;
  detail?: string;
  /** For `exited`: the last lines of the member's log. */
  logTail?: string[];
  log?: string;
  workspace?: string;
}

/** What `bm start` says about one slot, one line or more. */
export function describeLaunch(r: LaunchResult): string[] {
  switch (r.status) {
    case 'started': return [`${r.key}: started (PID ${r.pid})`];
    case 'already-running': return [`${r.key}: already running (PID ${r.pid}${r.detail ? `; ${r.detail}` : ''})`];
    case 'no-workspace': return [`${r.key}: no workspace found. Run \`bm teams sync\` first.`];
    case 'error': return [`${r.key}: could not start: ${r.detail ?? 'unknown error'}`];
    case 'exited': return [
      `${r.key}: process exited immediately (PID ${r.pid}). Last lines of ${r.log}:`,
      ...(r.logTail?.length ? r.logTail.map((l) => `    ${l}`) : ['    (no output)']),
    ];
  }
}

/** Options of `startLocal`. */
export interface StartOptions {
  /** Member names to start (default: all hired members). */
  members?: readonly string[];
  timings: Timings;
  /** The environment members inherit (default: bm's own). */
  env?: NodeJS.ProcessEnv;
  /** The formation name recorded in topology.json (default `local`). */
  formation?: string;
  /** Called with progress lines such as "Cleaned stale entry ...". */
  progress?: (line: string) => void;
  /** Run each member in a window of the team's tmux session (lib/tmux.ts). */
  tmux?: boolean;
}

/** The argv bm runs in each workspace: `-P` is ralph's prompt FILE flag (`-p` takes inline text). */
export const RALPH_RUN_ARGS = ['run', '-P', 'PROMPT.md'] as const;

/**
 * The environment a member runs with: bm's own minus CLAUDECODE, plus the team's tokens (the
 * config's win over the environment's).
 */
export function memberEnv(entry: TeamEntry, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // Claude Code refuses to start inside another Claude Code session when this is set.
  delete env.CLAUDECODE;
  const credentials = entry.credentials;
  const token = credentials?.gh_token || base.GH_TOKEN;
  if (token) env.GH_TOKEN = token;
  if (credentials?.telegram_bot_token) env.RALPH_TELEGRAM_BOT_TOKEN = credentials.telegram_bot_token;
  if (credentials?.anthropic_api_key) env.ANTHROPIC_API_KEY = credentials.anthropic_api_key;
  if (credentials?.claude_code_oauth_token) env.CLAUDE_CODE_OAUTH_TOKEN = credentials.claude_code_oauth_token;
  return env;
}

/** Fails with install instructions when `ralph` is not on PATH. */
export function requireRalph(env: NodeJS.ProcessEnv): string {
  const ralph = which('ralph', env);
  if (ralph) return ralph;
  throw new BmError(
    "'ralph' not found in PATH",
    'Install ralph-orchestrator (https://github.com/mikeyobrien/ralph-orchestrator) so that `ralph --version` works in this shell, then run `bm start` again.',
  );
}

/**
 * A ralph bm did not record but that holds the workspace's loop lock (state.json lost, or a
 * manual run). Linux only: the pid must be alive AND have the workspace as its cwd.
 */
function loopHolder(workspace: string): number | undefined {
  let pid: number;
  try {
    pid = Number((JSON.parse(readAgentFile(path.join(workspace, '.ralph', 'loop.lock')) ?? '') as { pid?: unknown }).pid);
  } catch {
    return undefined;
  }
  const info = procInfo(pid);
  if (!info || info.zombie) return undefined;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === workspace ? pid : undefined;
  } catch {
    return undefined;
  }
}

function entryFor(team: Team, slot: Slot, pid: number, started: string, tmux?: TmuxPlace): StateEntry {
  return { team: team.name, member: slot.member, project: slot.project, pid, started, started_at: new Date().toISOString(), workspace: slot.workspace, log: slot.log, ...(tmux ? { tmux } : {}) };
}

/** Launches one slot's ralph: detached, or in a tmux window. */
function launchSlot(team: Team, slot: Slot, ralph: string, env: NodeJS.ProcessEnv, inTmux: boolean): Launched & { tmux?: TmuxPlace } {
  const spec = {
    command: ralph,
    args: RALPH_RUN_ARGS,
    cwd: slot.workspace,
    logFile: slot.log,
    banner: `--- ${new Date().toISOString()} bm start: ralph ${RALPH_RUN_ARGS.join(' ')} in ${slot.workspace}${inTmux ? ' (tmux)' : ''}`,
  };
  const marker = memberMarker(team.name, slot.key);
  if (inTmux) return spawnInTmux({ ...spec, env, team: team.name, name: slot.key, windowEnv: marker, serverCwd: team.paths.dir });
  return spawnDetached({ ...spec, env: { ...env, ...marker } });
}

/** Checks every slot and launches those not running, all under the state lock. */
function launch(team: Team, slots: Slot[], ralph: string, env: NodeJS.ProcessEnv, progress: (line: string) => void, inTmux: boolean): LaunchResult[] {
  return updateState((state) => {
    for (const [key, entry] of teamEntries(state, team.name)) {
      if (isOurs(entry.pid, entry.started)) continue;
      delete state.members[stateKey(team.name, key)];
      progress(`Cleaned stale entry for ${team.name}/${key} (PID ${entry.pid} is gone)`);
    }
    const running = [...teamEntries(state, team.name).values()];
    return slots.map((slot): LaunchResult => {
      const base = { key: slot.key, member: slot.member, project: slot.project, log: slot.log, workspace: slot.workspace };
      if (!slot.provisioned) return { ...base, status: 'no-workspace' };
      const live = running.find((e) => e.workspace === slot.workspace);
      if (live) return { ...base, status: 'already-running', pid: live.pid };
      const adopted = loopHolder(slot.workspace);
      if (adopted !== undefined) {
        state.members[stateKey(team.name, slot.key)] = entryFor(team, slot, adopted, startTimeOf(adopted));
        return { ...base, status: 'already-running', pid: adopted, detail: 'not started by bm; now tracked' };
      }
      try {
        const launched = launchSlot(team, slot, ralph, env, inTmux);
        state.members[stateKey(team.name, slot.key)] = entryFor(team, slot, launched.pid, launched.started, launched.tmux);
        return { ...base, status: 'started', pid: launched.pid, started: launched.started };
      } catch (error) {
        return { ...base, status: 'error', detail: (error as Error).message };
      }
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longest wait for a launched ralph to come up (take its loop lock) before the liveness window starts anyway. */
const START_UP_LIMIT_MS = 10_000;

/** True when a ralph has taken `workspace`'s loop lock since `since` (epoch ms): ralph does that first thing. */
function lockedSince(workspace: string, since: number): boolean {
  try {
    return lstatSync(path.join(workspace, '.ralph', 'loop.lock')).mtimeMs >= since;
  } catch {
    return false;
  }
}

/**
 * Waits out the liveness window: a member whose ralph dies within it "exited immediately". The
 * window starts once every ralph is up (or dead), so on a loaded machine, where starting takes
 * seconds, a start-up failure is still caught rather than reported as started. It ends early
 * when every launched process has died.
 */
async function livenessWindow(launched: { pid: number; started: string; workspace: string }[], windowMs: number): Promise<void> {
  const launchedAt = Date.now() - 1000; // file times may lag the clock by a tick
  const dead = (p: { pid: number; started: string }) => !isOurs(p.pid, p.started);
  const upBy = Date.now() + START_UP_LIMIT_MS;
  while (Date.now() < upBy && !launched.every((p) => dead(p) || lockedSince(p.workspace, launchedAt))) await sleep(50);
  const deadline = Date.now() + windowMs;
  while (Date.now() < deadline) {
    if (launched.every(dead)) return;
    await sleep(Math.min(50, deadline - Date.now()));
  }
}

/** Rewrites topology.json from the team's live state entries. */
export function writeLocalTopology(team: Team, formation = 'local'): void {
  const members: Topology['members'] = {};
  updateTopology(team.paths.topology, () => {
    const state = readState();
    for (const [key, entry] of teamEntries(state, team.name)) {
      if (!isOurs(entry.pid, entry.started)) continue;
      members[key] = {
        status: 'running',
        member: entry.member,
        project: entry.project,
        started_at: entry.started_at,
        endpoint: { type: 'local', pid: entry.pid, started: entry.started, workspace: entry.workspace },
      };
    }
    return { formation, created_at: new Date().toISOString(), members };
  });
}

/**
 * Starts the team's members locally and returns one result per workspace. Throws (before doing
 * anything) when ralph is missing or no member is hired.
 */
export async function startLocal(team: Team, options: StartOptions): Promise<LaunchResult[]> {
  const env = memberEnv(team.entry, options.env);
  const ralph = requireRalph(env);
  const slots = slotsOf(team, options.members);
  if (slots.length === 0) throw new BmError(`No members hired in team '${team.name}'`, 'Run `bm hire <role>` first.');
  // Started by the operator: the daemon may run them again (lib/daemon/holds.ts).
  liftHolds(team.name, [...new Set(slots.map((s) => s.member))]);
  if (options.tmux) requireTmux(env);
  const results = launch(team, slots, ralph, env, options.progress ?? (() => undefined), Boolean(options.tmux));

  const launched = results.filter((r) => r.status === 'started');
  await livenessWindow(launched.map((r) => ({ pid: r.pid ?? 0, started: r.started ?? '', workspace: r.workspace ?? '' })), options.timings.startCheckMs);
  const dead = launched.filter((r) => !isOurs(r.pid ?? 0, r.started));
  if (dead.length > 0) {
    updateState((state) => {
      for (const r of dead) {
        const key = stateKey(team.name, r.key);
        if (state.members[key]?.pid === r.pid) delete state.members[key];
      }
    });
    for (const r of dead) {
      r.status = 'exited';
      r.logTail = tailLines(r.log ?? '', 5);
    }
  }
  writeLocalTopology(team, options.formation);
  return results;
}
