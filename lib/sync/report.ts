/**
 * What `bm teams sync` prints: progress on stderr (a line per workspace, or one redrawn line on
 * a TTY), then the plan or the summary on stdout, and an error naming every failed workspace.
 */
import { BmError, isTerminal, out, redact, style, write, type Fd } from '../output.ts';
import type { SyncReport, WorkspaceResult } from './index.ts';

/** `member/project`, or just `member` for a team without projects. */
export function workspaceLabel(w: Pick<WorkspaceResult, 'member' | 'project'>): string {
  return w.project ? `${w.member}/${w.project}` : w.member;
}

/** Progress on `stream`: call `update` as each workspace finishes and `finish` once at the end. */
export function createProgress(fd: Fd = 2): { update(result: WorkspaceResult, done: number, total: number): void; finish(): void } {
  const tty = isTerminal(fd);
  let drawn = false;
  return {
    update(result, done, total) {
      const label = workspaceLabel(result);
      if (tty) {
        const width = 24;
        const filled = Math.round((done / total) * width);
        write(fd, `\r\u001b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label} ${result.action}`);
        drawn = true;
        return;
      }
      const detail = result.error ? `: ${result.error}` : result.action === 'updated' ? ` (${result.changes.join('; ')})` : '';
      write(fd, redact(`${result.action.padEnd(9)} ${label}${detail}\n`));
    },
    finish() {
      if (drawn) write(fd, '\r\u001b[K');
    },
  };
}

/** `Synced N workspace(s): C created, U updated, K unchanged, F failed`. */
export function summaryLine(report: SyncReport): string {
  const s = report.summary;
  return `Synced ${s.total} workspace(s): ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.failed} failed`;
}

/** Prints the outcome of a real sync on stdout. */
export function printSummary(report: SyncReport): void {
  out(summaryLine(report));
  if (report.summary.total > 0 && report.summary.unchanged === report.summary.total) out('Nothing to do: every workspace was already up to date.');
}

/** Prints a dry run's plan on stdout: the action per workspace and what it involves. */
export function printPlan(report: SyncReport): void {
  for (const w of report.workspaces) {
    out(`${style('bold', w.action.padEnd(7))} ${workspaceLabel(w)}  ${style('dim', w.path)}`);
    for (const change of w.changes) out(`          ${change}`);
    if (w.error) out(redact(`          error: ${w.error}`));
  }
  const s = report.summary;
  out(`Dry run for ${s.total} workspace(s): ${s.created} to create, ${s.updated} to update, ${s.unchanged} with nothing to do${s.failed ? `, ${s.failed} failing` : ''}. Nothing was written.`);
}

/** The error a sync with failed workspaces ends with (exit 1), or undefined when none failed. */
export function failureError(report: SyncReport): BmError | undefined {
  const failed = report.workspaces.filter((w) => w.action === 'failed');
  if (failed.length === 0) return undefined;
  const reasons = failed.map((w) => `\n  ${workspaceLabel(w)}: ${w.error ?? 'unknown error'}`).join('');
  return new BmError(`${failed.length} of ${report.summary.total} workspace(s) failed:${reasons}\n`, report.dryRun ? 'Fix the causes above before syncing.' : 'Fix the causes above and run `bm teams sync` again; the other workspaces are done.');
}
