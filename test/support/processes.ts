/**
 * Whether a process is still there, as the tests mean it: an exited child that its parent has
 * not reaped yet (a zombie, as Deno leaves one briefly) counts as gone.
 */
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
