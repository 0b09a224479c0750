/**
 * How the formation's hat scripts (deploy, verify, topology) talk to the cluster: kubectl, which
 * reads the kubeconfig as every other tool does and applies manifests server-side. (bm itself
 * reads, deletes and follows logs with its own client, lib/kube-api.ts.) Every call passes
 * `--context` and `--request-timeout`, and gets a total deadline on top: kubectl's request
 * timeout is per request, and its discovery retries can add up to a minute against a server that
 * accepts connections and never answers.
 */
import { spawn } from 'node:child_process';
import { type Deployment, explainKubectl, fail, kubectlDeadlineMs } from './kube.ts';

/** What one kubectl call gave. A call past its deadline has exit code 124 and says so on stderr. */
export interface KubectlRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kubectl <the deployment's flags> <args>` within `deadlineMs`, with `input` on stdin when
 * given (how Secrets reach it: never in argv). Never rejects: a kubectl that cannot start is
 * exit code 127.
 */
export function kubectl(d: Pick<Deployment, 'flags'>, args: string[], input?: string, deadlineMs = kubectlDeadlineMs()): Promise<KubectlRun> {
  return new Promise<KubectlRun>((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const argv = [...d.flags, ...args];
    const child = input === undefined ? spawn('kubectl', argv, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('kubectl', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const settle = (run: KubectlRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(run);
    };
    // Past the deadline kubectl is killed and the call ends at once, without waiting for its pipes.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle({ exitCode: 124, stdout, stderr: `${stderr}\nkubectl did not answer within ${deadlineMs} ms (timed out)` });
    }, deadlineMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle({ exitCode: 127, stdout, stderr: error.code === 'ENOENT' ? 'kubectl not found in PATH' : error.message });
    });
    child.on('close', (code) => settle({ exitCode: code ?? 1, stdout, stderr }));
    // kubectl may exit before it reads its input (a bad context): that is its answer, not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
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
