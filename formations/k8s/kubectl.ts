/**
 * The one way the hat scripts run kubectl: with the deployment's `--context` and
 * `--request-timeout`, and a total deadline on the whole call (kubectl's request timeout is per
 * request, and its discovery retries can add up to a minute against a server that accepts
 * connections and never answers).
 */
import { $ } from 'zx/core';
import { type Deployment, explainKubectl, fail, kubectlDeadlineMs } from './kube.ts';

/** What one kubectl call gave. A call past its deadline has exit code 124 and says so on stderr. */
export interface KubectlRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubectl <flags> <args>`, with `input` on stdin when given (how Secrets reach it). */
export async function kubectl(d: Deployment, args: string[], input?: string, deadlineMs = kubectlDeadlineMs()): Promise<KubectlRun> {
  const ms = deadlineMs;
  const run = await $({ quiet: true, nothrow: true, timeout: ms, ...(input === undefined ? {} : { input }) })`kubectl ${d.flags} ${args}`;
  if (run.signal) return { exitCode: 124, stdout: '', stderr: `${run.stderr}\nkubectl did not answer within ${ms} ms (timed out)` };
  return { exitCode: run.exitCode ?? 1, stdout: run.stdout, stderr: run.stderr };
}

/** Fails the hat with what a failed kubectl call means and what to do about it. */
export function failWith(d: Deployment, run: KubectlRun, doing?: string): never {
  const { what, fix } = explainKubectl(d, run.stderr);
  fail(doing ? `${doing}: ${what}` : what, fix);
}

/** A stream of JSON documents: kubectl reads it like multi-document YAML. */
export function documents(items: unknown[]): string {
  return items.map((item) => `---\n${JSON.stringify(item)}\n`).join('');
}
