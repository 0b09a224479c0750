/**
 * A member is its whole process tree, not just the process bm launched.
 *
 * Everything bm launches for a member runs in its own process group (lib/proc.ts
 * `spawnDetached`), led by the recorded process, and carries `BM_MEMBER=<team>/<key>` in its
 * environment. When the leader ends (stopped, crashed, or a daemon run that finished), whatever
 * is left in its group is ended too: SIGTERM, then SIGKILL after the grace period. A process that
 * left the group (an agent that daemonised with `setsid`) keeps its environment and its working
 * directory, so bm still finds it: a process whose cwd is inside the team's directory and whose
 * environment names one of the team's members is the team's. bm never signals any other process
 * (an editor or shell the operator has open in a workspace carries no marker).
 *
 * Group reuse is guarded as pid reuse is: while a process is in group N, the kernel cannot hand
 * out N as a new pid or group, so the leftovers of a dead leader are found only while the leader's
 * number is not taken by another process, and only among processes started after the leader
 * (lib/proc.ts `groupLeftovers`). Linux only (/proc); elsewhere only the leader is tracked.
 */
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { ownPids, procInfo } from './proc.ts';

/** The environment variable naming the member (`<team>/<key>`) a process works for. */
export const MEMBER_MARKER = 'BM_MEMBER';

/** A member's process found by where it runs, not by a record. */
export interface MemberProcess {
  pid: number;
  started: string;
  /** The member key from its marker. */
  key: string;
  pgid: number;
  cwd: string;
  command: string;
}

/** The environment entry that marks a process as working for member `key` of `team`. */
export function memberMarker(team: string, key: string): NodeJS.ProcessEnv {
  return { [MEMBER_MARKER]: `${team}/${key}` };
}

function markerOf(pid: number, name = MEMBER_MARKER): string | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  const prefix = `${name}=`;
  for (const entry of environ.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

/**
 * The team's member processes running under `dir` (the team directory): cwd inside it and a
 * member marker naming `team`. The cwd is read first (one readlink per process) so that the
 * environment is read only for the few processes working there. Processes in the groups
 * `skipGroups` (running members, which account for their own trees) are passed over unread.
 */
export function memberProcessesUnder(dir: string, team: string, skipGroups: ReadonlySet<number> = new Set()): MemberProcess[] {
  let root: string;
  try {
    root = realpathSync(dir);
  } catch {
    return [];
  }
  const found: MemberProcess[] = [];
  for (const pid of ownPids()) {
    if (skipGroups.has(pid)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== root && !cwd.startsWith(`${root}${path.sep}`)) continue;
    const info = procInfo(pid);
    if (!info || info.zombie || skipGroups.has(info.pgid)) continue;
    const marker = markerOf(pid);
    if (!marker?.startsWith(`${team}/`)) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      // Gone meanwhile: it is still reported by pid.
    }
    found.push({ pid, started: info.started, key: marker.slice(team.length + 1), pgid: info.pgid, cwd, command });
  }
  return found;
}

/** Every live process whose environment has `name=value` (what a marked child started). */
export function processesMarked(name: string, value: string): { pid: number; started: string }[] {
  const found: { pid: number; started: string }[] = [];
  for (const pid of ownPids()) {
    if (markerOf(pid, name) !== value) continue;
    const info = procInfo(pid);
    if (info && !info.zombie) found.push({ pid, started: info.started });
  }
  return found;
}
