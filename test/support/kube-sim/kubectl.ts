/**
 * Whether the `kubectl` on PATH can drive kube-sim, decided in one place for every test that
 * runs kubectl against it.
 *
 * kube-sim speaks the API of a v1.32 server, which needs kubectl 1.27 or newer (the Google Cloud
 * SDK dispatcher, `v1.32.4-dispatcher`, picks a matching one). Debian's own kubernetes-client,
 * the fallback of tasks/setup-tools.sh, is 1.20: those tests skip with the reason instead of
 * failing.
 */
import { execFile } from 'node:child_process';
import process from 'node:process';
import type { Test } from 'uvu';

/** The oldest kubectl minor version (1.x) the kube-sim tests run with. */
export const MIN_KUBECTL_MINOR = 27;

/** `{major, minor}` from `kubectl version --client -o json` (minor may read `32+`), or undefined. */
export function parseKubectlVersion(json: string): { major: number; minor: number; text: string } | undefined {
  let client: { major?: unknown; minor?: unknown; gitVersion?: unknown } | undefined;
  try {
    client = (JSON.parse(json) as { clientVersion?: typeof client }).clientVersion;
  } catch {
    return undefined;
  }
  if (!client) return undefined;
  const git = typeof client.gitVersion === 'string' ? /^v?(\d+)\.(\d+)/.exec(client.gitVersion) : null;
  const major = Number.parseInt(String(client.major ?? git?.[1] ?? ''), 10);
  const minor = Number.parseInt(String(client.minor ?? git?.[2] ?? ''), 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return undefined;
  return { major, minor, text: typeof client.gitVersion === 'string' ? client.gitVersion : `v${major}.${minor}` };
}

/** Why the kubectl on `env`'s PATH cannot drive kube-sim, or undefined when it can. */
export function kubectlProblem(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  // No kubeconfig: `version --client` must not reach for any cluster.
  const quiet = { ...env, KUBECONFIG: '/nonexistent/kube-sim-version-check' };
  return new Promise((resolve) => {
    execFile('kubectl', ['version', '--client', '-o', 'json'], { env: quiet, timeout: 20_000 }, (error, stdout) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return resolve('kubectl is not on PATH');
      const version = parseKubectlVersion(stdout);
      if (!version) return resolve(`\`kubectl version --client -o json\` did not report a version${error ? ` (${error.message.split('\n')[0]})` : ''}`);
      if (version.major < 1 || (version.major === 1 && version.minor < MIN_KUBECTL_MINOR)) {
        return resolve(`kubectl ${version.text} is older than 1.${MIN_KUBECTL_MINOR} (install kubectl 1.${MIN_KUBECTL_MINOR}+, e.g. the Google Cloud SDK's kubectl package)`);
      }
      resolve(undefined);
    });
  });
}

let checked: Promise<string | undefined> | undefined;

/**
 * The uvu `test` to register kubectl-driven tests with: `test` itself when kubectl can drive
 * kube-sim, else `test.skip`, after printing `<suite>: skipped: <why>` once.
 */
export async function kubectlTest(test: Test, suite: string): Promise<Test['skip'] | Test> {
  checked ??= kubectlProblem();
  const problem = await checked;
  if (!problem) return test;
  console.log(`${suite}: kubectl tests skipped: ${problem}`);
  return test.skip;
}
