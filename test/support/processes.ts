/**
 * Whether a process is still there, as the tests mean it: an exited child that its parent has
 * not reaped yet (a zombie, as Deno leaves one briefly) counts as gone. And how to interrupt one.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const HAS_PROC = existsSync('/proc/self/stat');

/** True while `pid` runs and is not a zombie. Without /proc (not Linux) a live pid counts as running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!HAS_PROC) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to a running child as a terminal's Ctrl-C or `kill` does. Not `child.kill()`:
 * Deno's takes the signal sent as the way the child ended, so a child that catches it and exits
 * 0 would read as killed (exit code null).
 */
export function interrupt(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal);
}
