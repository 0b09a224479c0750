/**
 * Members in tmux (`bm start --tmux`): each member runs in a window of its own in a tmux session
 * named after the team, on a tmux server that is bm's alone (its socket is
 * `BM_HOME/tmux/<team>.sock`, started without the operator's ~/.tmux.conf), so `bm attach` can put
 * the operator in front of the live agent while bm tracks it as it tracks any member.
 *
 * tmux starts each pane's process as the leader of a session and process group of its own, so
 * the pane's pid is recorded in state.json like a detached member's: `bm status` and `bm stop`
 * treat it the same way, and a window closes when its process ends. The pane's output is also
 * appended to the member's log (`pipe-pane`, set in the same tmux command as the window, so no
 * output is missed), which `bm logs` and the stall check read.
 *
 * Secrets reach the members through the server's environment, which the first tmux command of a
 * team hands to the server it starts; only the member marker goes on the command line. The server
 * exits with its last window; a full `bm stop` also ends it (`endTmuxServer`), in case the
 * operator opened windows of their own in it.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BmError } from './output.ts';
import { bmHome } from './paths.ts';
import { isOurs, openLog, signalGroup, startTimeOf, waitForExit, which, type DetachedSpec, type Launched } from './proc.ts';

/** Where a member runs in tmux (kept in its state.json entry). */
export interface TmuxPlace {
  socket: string;
  /** tmux's window id (`@3`): stable while the window lives, whatever its name. */
  window: string;
}

/** The socket of a team's tmux server. */
export function tmuxSocket(team: string): string {
  return path.join(bmHome(), 'tmux', `${team}.sock`);
}

/** Fails with install instructions when tmux is missing. */
export function requireTmux(env: NodeJS.ProcessEnv = process.env): string {
  const tmux = which('tmux', env);
  if (tmux) return tmux;
  throw new BmError("'tmux' not found in PATH", 'Install tmux (Debian/Ubuntu: `sudo apt-get install tmux`), or start without --tmux.');
}

/** The environment for a tmux client: never the operator's own tmux session. */
function clientEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  delete clean.TMUX;
  delete clean.TMUX_PANE;
  return clean;
}

/** Single-quotes `text` for the `sh -c` that tmux runs `pipe-pane`'s command with. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function tmux(tmuxBin: string, socket: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): string {
  return execFileSync(tmuxBin, ['-S', socket, ...args], { env: clientEnv(options.env), cwd: options.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/**
 * Starts `spec` in a new window `name` of `team`'s tmux session (creating the session, and the
 * server, when needed), its output appended to `spec.logFile`. `serverCwd` is where a new server
 * lives (the team's directory). `spec.env` is the server's environment, for every window;
 * `windowEnv` (the member marker: never a secret, it goes on tmux's command line) is this
 * window's own.
 */
export function spawnInTmux(spec: DetachedSpec & { team: string; name: string; windowEnv: NodeJS.ProcessEnv; serverCwd: string }): Launched & { tmux: TmuxPlace } {
  const tmuxBin = requireTmux(spec.env);
  const socket = tmuxSocket(spec.team);
  // sun_path holds 108 bytes on Linux.
  if (Buffer.byteLength(socket) > 100) throw new BmError(`The tmux socket path ${socket} is too long for a Unix socket`, 'Use a shorter BM_HOME, or start without --tmux.');
  mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
  closeSync(openLog(spec.logFile, spec.banner));
  const window = ['-n', spec.name, '-c', spec.cwd, ...Object.entries(spec.windowEnv).flatMap(([key, value]) => ['-e', `${key}=${value ?? ''}`]), '-P', '-F', '#{pane_pid} #{window_id}', '--', spec.command, ...spec.args];
  // In the same command list as the window, so the pipe is in place before tmux reads any output;
  // it targets the current window, which is why the new window is not created with -d.
  const pipe = [';', 'pipe-pane', '-o', `exec cat >> ${shellQuote(spec.logFile)}`];
  const run = (args: string[]) => tmux(tmuxBin, socket, [...args, ...pipe], { env: spec.env, cwd: spec.serverCwd });
  const failure = (error: unknown) => String((error as { stderr?: unknown }).stderr ?? '').trim() || (error as Error).message;
  let printed: string;
  try {
    printed = run(['new-window', '-t', `=${spec.team}:`, ...window]);
  } catch (error) {
    // Only a missing session (or server) is made here; the server started now inherits `spec.env`.
    if (!/no server running|can't find session|error connecting/i.test(failure(error))) throw new Error(`tmux could not open a window: ${failure(error)}`);
    try {
      printed = run(['-f', '/dev/null', 'new-session', '-d', '-s', spec.team, '-x', '200', '-y', '50', ...window]);
    } catch (again) {
      throw new Error(`tmux could not start the session: ${failure(again)}`);
    }
  }
  const match = /^(\d+) (@\d+)/.exec(printed.trim());
  if (!match) throw new Error(`tmux printed no pane for the new window: '${printed.trim()}'`);
  const pid = Number(match[1]);
  return { pid, started: startTimeOf(pid), tmux: { socket, window: match[2] } };
}

/** The pid and start time of `team`'s tmux server, when one runs. */
function serverOf(team: string, env: NodeJS.ProcessEnv): { pid: number; started: string } | undefined {
  const tmuxBin = which('tmux', env);
  if (!tmuxBin || !existsSync(tmuxSocket(team))) return undefined;
  try {
    const pid = Number(tmux(tmuxBin, tmuxSocket(team), ['display-message', '-p', '#{pid}'], { env }).trim());
    return Number.isInteger(pid) && pid > 0 ? { pid, started: startTimeOf(pid) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ends `team`'s tmux server and whatever still runs in its windows, and waits until it is gone:
 * nothing bm started may outlive `bm stop`.
 */
export async function endTmuxServer(team: string, graceMs: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const server = serverOf(team, env);
  if (!server?.started) return;
  const tmuxBin = which('tmux', env);
  try {
    if (tmuxBin) tmux(tmuxBin, tmuxSocket(team), ['kill-server'], { env });
  } catch {
    // It exited by itself meanwhile.
  }
  if (!(await waitForExit(server.pid, server.started, graceMs)) && isOurs(server.pid, server.started)) signalGroup(server.pid, 'SIGKILL');
}

/**
 * Puts the operator's terminal on `place`'s window until they detach (the tmux prefix, then `d`).
 * Resolves to tmux's exit code.
 */
export function attachTmux(place: TmuxPlace, team: string, env: NodeJS.ProcessEnv = process.env): number {
  const tmuxBin = requireTmux(env);
  try {
    execFileSync(tmuxBin, ['-S', place.socket, 'select-window', '-t', place.window, ';', 'attach-session', '-t', `=${team}`], { env: clientEnv(env), stdio: 'inherit' });
    return 0;
  } catch (error) {
    return typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 1;
  }
}
