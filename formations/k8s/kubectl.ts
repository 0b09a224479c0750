/**
 * The one way bm talks to a cluster: kubectl, for the hat scripts (deploy, verify, topology) and
 * for bm itself (status, stop, purge, logs, `status -v`). kubectl reads the kubeconfig as every
 * other tool does (`KUBECONFIG=a:b` merged, exec credential plugins, auth providers, proxy
 * variables and NO_PROXY), so bm never interprets one itself. Every call passes `--context` and
 * `--request-timeout`, and gets a total deadline on top: kubectl's request timeout is per
 * request, and its discovery retries can add up to a minute against a server that accepts
 * connections and never answers.
 */
import type { ChildProcess } from 'node:child_process';
import { type Deployment, explainKubectl, fail, kubectlDeadlineMs } from './kube.ts';

/** What one kubectl call gave. A call past its deadline has exit code 124 and says so on stderr. */
export interface KubectlRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** How to run one kubectl call. */
export interface KubectlOptions {
  /** Written to kubectl's stdin (how Secrets reach it: never in argv); without it, stdin is /dev/null. */
  input?: string;
  /** Total deadline in ms (default BM_K8S_KUBECTL_DEADLINE_MS); 0: none, for a followed log that runs until `signal` aborts. */
  deadlineMs?: number;
  /** Receives stdout as it comes, instead of collecting it in `stdout`. */
  onStdout?: (chunk: string) => void;
  /** Ends the call (SIGTERM); it then resolves with what kubectl gave so far. */
  signal?: AbortSignal;
}

/** Runs `kubectl <flags> <args>`; never rejects (a kubectl that cannot start is exit code 127). */
export function runKubectl(flags: readonly string[], args: readonly string[], options: KubectlOptions = {}): Promise<KubectlRun> {
  return startKubectl(flags, args, options).result;
}

/** A kubectl call under way: its result, and handles to let it run without keeping bm alive, or end it. */
export interface KubectlCall {
  result: Promise<KubectlRun>;
  /** Whether bm waits for the call before it exits (it does from the start). */
  hold(held: boolean): void;
  /** Ends the call at once (SIGTERM). */
  kill(): void;
}

/** Starts `kubectl <flags> <args>` (see runKubectl). */
export function startKubectl(flags: readonly string[], args: readonly string[], options: KubectlOptions = {}): KubectlCall {
  const ms = options.deadlineMs ?? kubectlDeadlineMs();
  let started: ChildProcess | undefined;
  const result = new Promise<KubectlRun>((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    // Loaded on first use: every command that checks an endpoint imports this module, and a team
    // that never deployed to a cluster runs no kubectl.
    const { spawn } = process.getBuiltinModule('node:child_process');
    const argv = [...flags, ...args];
    const child = options.input === undefined ? spawn('kubectl', argv, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('kubectl', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    started = child;
    const settle = (run: KubectlRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      resolve(run);
    };
    const abort = () => child.kill('SIGTERM');
    // Past the deadline kubectl is killed and the call ends at once, without waiting for its pipes.
    const timer = ms > 0 ? setTimeout(() => {
      child.kill('SIGKILL');
      settle({ exitCode: 124, stdout, stderr: `${stderr}\nkubectl did not answer within ${ms} ms (timed out)` });
    }, ms) : undefined;
    // The deadline alone never keeps bm running: a call bm waits for holds it alive by itself.
    timer?.unref();
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted) abort();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (options.onStdout ? options.onStdout(chunk) : (stdout += chunk)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle({ exitCode: 127, stdout, stderr: error.code === 'ENOENT' ? 'kubectl not found in PATH' : error.message });
    });
    child.on('close', (code) => settle({ exitCode: code ?? 1, stdout, stderr }));
    // kubectl may exit before it reads its input (a bad context): that is its answer, not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  });
  const child = started as ChildProcess;
  // The child and its pipes are what keeps bm's event loop running until kubectl is done.
  const handles = [child, child.stdout, child.stderr] as unknown as ({ ref?(): void; unref?(): void } | null)[];
  return {
    result,
    hold: (held) => handles.forEach((h) => (held ? h?.ref?.() : h?.unref?.())),
    kill: () => child.kill('SIGTERM'),
  };
}

/** Runs `kubectl <the deployment's flags> <args>`, with `input` on stdin when given. */
export function kubectl(d: Pick<Deployment, 'flags'>, args: string[], input?: string, deadlineMs = kubectlDeadlineMs()): Promise<KubectlRun> {
  return runKubectl(d.flags, args, { input, deadlineMs });
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
