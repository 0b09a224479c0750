/**
 * Test helper for kube-sim: starts the simulator as a child process, writes a kubeconfig that
 * real kubectl accepts, and drives the control port.
 *
 *   const sim = await startKubeSim();
 *   await execFile('kubectl', [...sim.kubectlFlags(), 'get', 'pods'], { env: { ...process.env, ...sim.env } });
 *   await sim.fault({ kind: 'refuse' });
 *   await sim.stop();
 *
 * The simulator runs in a child process on purpose: an in-process server deadlocks as soon as a
 * test calls kubectl synchronously.
 *
 * By default it serves plain http to anyone (the kubeconfig sets `insecure-skip-tls-verify`).
 * `{tls: true}` serves https with a throwaway CA,
 * `{clientCert: true}` also requires a client certificate, `{token}` a bearer token (either one
 * will do when both are set); the kubeconfig it writes carries what is needed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { alive } from '../processes.ts';
import type { LoggedRequest } from './control.ts';
import type { Fault, PodBehavior, PodMatch } from './faults.ts';

export type { Fault, LoggedRequest, PodBehavior, PodMatch };

/** Options for {@link startKubeSim}. */
export interface KubeSimOptions {
  /** kubeconfig context (and cluster/user) name; default `kind-botminter`, as kind names it. */
  context?: string;
  /** Default namespace of the context; default `default`. */
  namespace?: string;
  /** Directory for the kubeconfig, kube cache, HOME and state; default a fresh temp dir (removed by stop()). */
  dir?: string;
  /** Multiplies every pod lifecycle delay (0.1 = ten times faster); default 1. */
  timeScale?: number;
  /** Version reported by /version; default `1.32.2` (the kubectl dispatcher picks kubectl 1.32). */
  version?: string;
  /** Fixed ports; default 0 (any free port). */
  port?: number;
  controlPort?: number;
  /** How long to wait for the simulator to listen; default 15 s. */
  startTimeoutMs?: number;
  /**
   * Serve the API over https with a throwaway CA (made with `openssl`); the kubeconfig then
   * carries `certificate-authority-data` instead of `insecure-skip-tls-verify`.
   */
  tls?: boolean;
  /** Implies `tls`: a client certificate signed by the CA authenticates; the kubeconfig user carries it. */
  clientCert?: boolean;
  /** Requests must carry `Authorization: Bearer <token>` (or the client certificate); the kubeconfig user has it. */
  token?: string;
}

/** The throwaway TLS material of a `tls` simulator (PEM files in `<dir>/tls`). */
export interface KubeSimTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** With `clientCert`: a client certificate the server accepts, and its key. */
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** A running simulator. */
export interface KubeSim {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`): the API server URL in the kubeconfig. */
  apiUrl: string;
  /** `http://127.0.0.1:PORT` of the control port. */
  controlUrl: string;
  port: number;
  controlPort: number;
  kubeconfigPath: string;
  context: string;
  /** The working directory (kubeconfig, `kube-cache/`, `home/`, `state/`). */
  dir: string;
  /** Environment for kubectl and bm: KUBECONFIG, KUBECACHEDIR and HOME inside `dir`. */
  env: Record<string, string>;
  /** The certificates, when the simulator serves https. */
  tls?: KubeSimTls;
  /** PID of the simulator process (changes on restart). */
  readonly pid: number;
  /** `--kubeconfig P --context C --request-timeout T`, to put before every kubectl command. */
  kubectlFlags(requestTimeout?: string): string[];
  /** Injects a fault; `crash` resolves once the process has exited. */
  fault(fault: Fault): Promise<void>;
  /** Removes every fault (reopens a refused listener, releases hung requests). */
  clearFaults(): Promise<void>;
  /** Clears faults and the request log; `{state: true}` also wipes every object back to a fresh cluster. */
  reset(options?: { state?: boolean }): Promise<void>;
  /** Makes a pod's containers exit now (a healthy pod that later dies). */
  killPod(namespace: string, name: string, exitCode?: number): Promise<void>;
  /** The API requests received so far, oldest first. */
  requests(filter?: { method?: string; path?: RegExp }): Promise<LoggedRequest[]>;
  clearRequests(): Promise<void>;
  /** Starts the simulator again on the same ports with the state it had (after a crash or kill). */
  restart(): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes the temp dir it created. Idempotent. */
  stop(): Promise<void>;
}

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'server.ts');
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every simulator still running when the test process exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Extra fields of the kubeconfig's cluster and user entries (values as kubeconfig spells them). */
export interface KubeconfigEntries {
  /** Default `{insecure-skip-tls-verify: true}`, kind-like and harmless over http. */
  cluster?: Record<string, unknown>;
  /** Default `{}`: no credentials. */
  user?: Record<string, unknown>;
}

/** Writes a kubeconfig whose one context, cluster and user are all named `context`, laid out as kind writes one. */
export function writeKubeconfig(path: string, server: string, context = 'kind-botminter', namespace = 'default', entries: KubeconfigEntries = {}): void {
  // JSON values are YAML too; nested ones (an exec plugin) come out in flow style.
  const fields = (object: Record<string, unknown>) => Object.entries(object).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
  const user = fields(entries.user ?? {});
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${context}`,
    '  cluster:',
    `    server: ${server}`,
    ...fields(entries.cluster ?? { 'insecure-skip-tls-verify': true }),
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}`,
    `    user: ${context}`,
    `    namespace: ${namespace}`,
    `current-context: ${context}`,
    'users:',
    `- name: ${context}`,
    ...(user.length ? ['  user:', ...user] : ['  user: {}']),
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600 });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for 127.0.0.1 (and a client certificate), made with openssl. */
export function makeTls(dir: string, clientCert: boolean): KubeSimTls {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kube-sim-ca']);
  const leaf = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  };
  leaf('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  if (clientCert) leaf('client', '/O=system:masters/CN=kube-sim-admin', 'extendedKeyUsage=clientAuth');
  return {
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    ...(clientCert ? { clientCertFile: join(dir, 'client.crt'), clientKeyFile: join(dir, 'client.key') } : {}),
  };
}

interface Spawned {
  child: ChildProcess;
  port: number;
  controlPort: number;
}

interface ServerAuth {
  tls?: KubeSimTls;
  tokenFile?: string;
}

function spawnServer(stateDir: string, opts: KubeSimOptions, port: number, controlPort: number, auth: ServerAuth): Promise<Spawned> {
  const serverArgs = [
    SERVER, '--port', String(port), '--control-port', String(controlPort), '--state-dir', stateDir,
    '--time-scale', String(opts.timeScale ?? 1), '--version', opts.version ?? '1.32.2', '--exit-with-stdin',
    ...(auth.tls ? ['--tls-cert', auth.tls.serverCertFile, '--tls-key', auth.tls.serverKeyFile] : []),
    ...(auth.tls?.clientCertFile ? ['--client-ca', auth.tls.caFile] : []),
    ...(auth.tokenFile ? ['--token-file', auth.tokenFile] : []),
  ];
  // process.execPath is the deno binary under Deno, node under Node.
  const argv = isDeno ? ['run', '-A', '--no-prompt', ...serverArgs] : ['--import', 'tsx', ...serverArgs];
  const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  installExitHook();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise<Spawned>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kube-sim did not start within ${opts.startTimeoutMs ?? 15_000} ms: ${stderr}`));
    }, opts.startTimeoutMs ?? 15_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`kube-sim exited (${code}) before it was ready: ${stderr}`));
    };
    child.once('exit', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line || !stdout.includes('\n')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const ready = JSON.parse(line) as { port: number; controlPort: number };
      // Do not let the simulator keep the test process alive; the exit hook and stdin close stop it.
      child.unref();
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
      resolve({ child, port: ready.port, controlPort: ready.controlPort });
    });
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Waits until the process is gone; not its 'exit' event, which Deno emits a little early. */
async function waitUntilGone(pid: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; alive(pid);) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function killChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !alive(pid)) return;
  child.kill('SIGTERM');
  if (!(await waitUntilGone(pid, 3000))) {
    child.kill('SIGKILL');
    await waitUntilGone(pid, 3000);
  }
}

/** Starts a simulator and returns its handle. Always call `stop()` (a process exit hook is the backstop). */
export async function startKubeSim(opts: KubeSimOptions = {}): Promise<KubeSim> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kube-sim-'));
  const stateDir = join(dir, 'state');
  const home = join(dir, 'home');
  const cacheDir = join(dir, 'kube-cache');
  for (const d of [stateDir, home, cacheDir]) mkdirSync(d, { recursive: true });
  const context = opts.context ?? 'kind-botminter';
  const auth: ServerAuth = {};
  if (opts.tls || opts.clientCert) auth.tls = makeTls(join(dir, 'tls'), Boolean(opts.clientCert));
  if (opts.token !== undefined) {
    auth.tokenFile = join(stateDir, 'token');
    writeFileSync(auth.tokenFile, opts.token, { mode: 0o600 });
  }
  let spawned = await spawnServer(stateDir, opts, opts.port ?? 0, opts.controlPort ?? 0, auth);
  const { port, controlPort } = spawned;
  const apiUrl = `${auth.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  const pem = (file: string) => readFileSync(file).toString('base64');
  writeKubeconfig(kubeconfigPath, apiUrl, context, opts.namespace ?? 'default', {
    ...(auth.tls ? { cluster: { 'certificate-authority-data': pem(auth.tls.caFile) } } : {}),
    user: {
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(auth.tls?.clientCertFile && auth.tls.clientKeyFile ? { 'client-certificate-data': pem(auth.tls.clientCertFile), 'client-key-data': pem(auth.tls.clientKeyFile) } : {}),
    },
  });
  let stopped = false;

  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${controlUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data: unknown = await response.json();
    if (!response.ok) throw new Error(`kube-sim control ${method} ${path} failed: ${response.status} ${JSON.stringify(data)}`);
    return data;
  };

  return {
    apiUrl,
    controlUrl,
    port,
    controlPort,
    kubeconfigPath,
    context,
    dir,
    env: { KUBECONFIG: kubeconfigPath, KUBECACHEDIR: cacheDir, HOME: home },
    ...(auth.tls ? { tls: auth.tls } : {}),
    get pid() {
      return spawned.child.pid ?? 0;
    },
    kubectlFlags: (requestTimeout = '5s') => ['--kubeconfig', kubeconfigPath, '--context', context, `--request-timeout=${requestTimeout}`],
    async fault(fault) {
      await control('POST', '/faults', fault);
      if (fault.kind === 'crash') await waitForExit(spawned.child, 5000);
    },
    async clearFaults() {
      await control('DELETE', '/faults');
    },
    async reset(options = {}) {
      await control('POST', '/reset', options);
    },
    async killPod(namespace, name, exitCode = 1) {
      await control('POST', '/pods/kill', { namespace, name, exitCode });
    },
    async requests(filter = {}) {
      const all = (await control('GET', '/requests')) as LoggedRequest[];
      return all.filter((r) => (!filter.method || r.method === filter.method.toUpperCase()) && (!filter.path || filter.path.test(r.path)));
    },
    async clearRequests() {
      await control('DELETE', '/requests');
    },
    async restart() {
      await killChild(spawned.child);
      spawned = await spawnServer(stateDir, opts, port, controlPort, auth);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await killChild(spawned.child);
      if (ownDir) await removeDir(dir);
    },
  };
}

/**
 * Removes the simulator's directory. A kubectl started by a test may still be writing its cache
 * there for a moment, which makes Deno's recursive rm fail with ENOTEMPTY: try again briefly.
 */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
