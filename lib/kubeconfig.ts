/**
 * What a kubeconfig context means: which API server, how to trust it, how to reach it and who to
 * be there. lib/kube-api.ts sends the requests; this reads the kubeconfig as kubectl does:
 *
 * - the files of `KUBECONFIG` (colon-separated; missing ones skipped), else `~/.kube/config`,
 *   merged: the first file that names a cluster, user or context wins it;
 * - paths in a file (CA, client certificate and key, token file, a credential plugin given as a
 *   path) are relative to that file's directory;
 * - users authenticate with a token, a token file, a client certificate, a user name and
 *   password, an `exec` credential plugin (client.authentication.k8s.io v1 or v1beta1, run with
 *   KUBERNETES_EXEC_INFO) or the `oidc` auth provider's id-token; impersonation (`as`,
 *   `as-groups`, `as-uid`, `as-user-extra`) becomes the Impersonate-* headers;
 * - clusters trust a CA (file or data) or skip verification, may name the TLS server name and a
 *   `proxy-url` (lib/kube-api.ts applies the proxy variables when there is none).
 *
 * The kubeconfig holds credentials, so it is never cached: it is read once per process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { userHome } from './paths.ts';
import { readSimpleYaml } from './simple-yaml.ts';
import { yaml } from './yaml.ts';

/** Everything needed to send a request to a context's API server. */
export interface KubeTarget {
  context: string;
  /** The API server's URL (a path prefix in it is kept). */
  server: string;
  /** The cluster's `proxy-url`, if any. */
  proxyUrl?: string;
  ca?: Buffer;
  insecure: boolean;
  serverName?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Authorization and Impersonate-* headers. */
  headers: Record<string, string | string[]>;
}

/** A kubeconfig that cannot be used for a context: unreadable, without it, or without working credentials. */
class KubeconfigError extends Error {}

type Entry = Record<string, unknown>;

/** A named entry of a kubeconfig, with the directory its relative paths start from. */
interface Found {
  value: Entry;
  dir: string;
}

interface Merged {
  files: string[];
  clusters: Map<string, Found>;
  users: Map<string, Found>;
  contexts: Map<string, Found>;
}

/** The kubeconfig files kubectl would read, in order. */
function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter(Boolean);
  return [path.join(userHome(env), '.kube', 'config')];
}

function parseKubeconfig(file: string, text: string): Entry {
  let value: unknown = readSimpleYaml(text);
  if (value === undefined) {
    try {
      value = yaml().parse(text);
    } catch (error) {
      throw new KubeconfigError(`The kubeconfig (${file}) cannot be read (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new KubeconfigError(`The kubeconfig (${file}) cannot be read (not a mapping)`);
  return value as Entry;
}

function merged(env: NodeJS.ProcessEnv): Merged {
  const result: Merged = { files: kubeconfigFiles(env), clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of result.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`The kubeconfig (${file}) cannot be read (${(error as Error).message})`);
    }
    const config = parseKubeconfig(file, text);
    const dir = path.dirname(path.resolve(file));
    for (const [list, key, into] of [['clusters', 'cluster', result.clusters], ['users', 'user', result.users], ['contexts', 'context', result.contexts]] as const) {
      const entries = config[list];
      if (entries === undefined || entries === null) continue;
      if (!Array.isArray(entries)) throw new KubeconfigError(`The kubeconfig (${file}) cannot be read (${list} is not a list)`);
      for (const named of entries as unknown[]) {
        const { name, [key]: value } = (named ?? {}) as Entry;
        if (typeof name !== 'string' || into.has(name)) continue;
        into.set(name, { value: value && typeof value === 'object' ? value as Entry : {}, dir });
      }
    }
  }
  return result;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/** A file the kubeconfig names, relative to its own directory. */
function readNamed(found: Found, file: string, what: string): Buffer {
  const full = path.resolve(found.dir, file);
  try {
    return readFileSync(full);
  } catch (error) {
    throw new KubeconfigError(`The kubeconfig's ${what} ${full} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** `<name>-data` (base64) or `<name>` (a file) of an entry. */
function pem(found: Found, name: string): Buffer | undefined {
  const data = text(found.value[`${name}-data`]);
  if (data) return Buffer.from(data, 'base64');
  const file = text(found.value[name]);
  return file ? readNamed(found, file, name) : undefined;
}

/** The connection of `context`, without the credentials of an exec plugin (see execCredential). */
export function kubeTarget(context: string, env: NodeJS.ProcessEnv = process.env): { target: KubeTarget; exec?: ExecPlugin } {
  const config = merged(env);
  const where = config.files.join(path.delimiter);
  const ctx = config.contexts.get(context);
  if (!ctx) throw new KubeconfigError(`There is no context '${context}' in the kubeconfig (${where}); \`kubectl config get-contexts\` lists those there are`);
  const clusterName = text(ctx.value.cluster) ?? '';
  const cluster = config.clusters.get(clusterName);
  if (!cluster) throw new KubeconfigError(`Context '${context}' names cluster '${clusterName}', which the kubeconfig (${where}) does not define`);
  const server = text(cluster.value.server);
  if (!server) throw new KubeconfigError(`Cluster '${clusterName}' in the kubeconfig (${where}) has no server`);
  const userName = text(ctx.value.user);
  const user = userName === undefined ? { value: {}, dir: '' } : config.users.get(userName);
  if (!user) throw new KubeconfigError(`Context '${context}' names user '${userName}', which the kubeconfig (${where}) does not define`);

  const target: KubeTarget = {
    context,
    server: server.replace(/\/+$/, ''),
    proxyUrl: text(cluster.value['proxy-url']),
    ca: pem(cluster, 'certificate-authority'),
    insecure: cluster.value['insecure-skip-tls-verify'] === true,
    serverName: text(cluster.value['tls-server-name']),
    cert: pem(user, 'client-certificate'),
    key: pem(user, 'client-key'),
    headers: {},
  };
  const u = user.value;
  const tokenFile = text(u.tokenFile);
  const token = text(u.token) ?? (tokenFile ? readNamed(user, tokenFile, 'tokenFile').toString('utf8').trim() : undefined);
  const provider = u['auth-provider'] as Entry | undefined;
  if (token) target.headers.authorization = `Bearer ${token}`;
  else if (text(u.username) !== undefined) target.headers.authorization = `Basic ${Buffer.from(`${text(u.username)}:${text(u.password) ?? ''}`).toString('base64')}`;
  else if (provider) {
    const idToken = text((provider.config as Entry | undefined)?.['id-token']);
    if (provider.name !== 'oidc' || !idToken) throw new KubeconfigError(`The auth provider '${String(provider.name)}' of user '${userName}' is not supported; use an exec credential plugin (kubectl dropped it too)`);
    target.headers.authorization = `Bearer ${idToken}`;
  }
  if (text(u.as)) target.headers['impersonate-user'] = text(u.as)!;
  if (text(u['as-uid'])) target.headers['impersonate-uid'] = text(u['as-uid'])!;
  if (Array.isArray(u['as-groups'])) target.headers['impersonate-group'] = (u['as-groups'] as unknown[]).filter((g): g is string => typeof g === 'string');
  for (const [key, values] of Object.entries((u['as-user-extra'] ?? {}) as Entry)) {
    if (Array.isArray(values)) target.headers[`impersonate-extra-${encodeURIComponent(key)}`] = values.map(String);
  }
  const exec = u.exec as Entry | undefined;
  return { target, exec: exec && !token ? execPlugin(exec, user, cluster, target) : undefined };
}

/** A credential plugin to run before the first request. */
interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
  interactive: 'Never' | 'IfAvailable' | 'Always';
  installHint?: string;
  /** The cluster as the plugin sees it, with `provideClusterInfo`. */
  cluster?: Entry;
}

const EXEC_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

function execPlugin(exec: Entry, user: Found, cluster: Found, target: KubeTarget): ExecPlugin {
  const apiVersion = text(exec.apiVersion) ?? '';
  if (!EXEC_VERSIONS.includes(apiVersion)) throw new KubeconfigError(`The credential plugin's apiVersion '${apiVersion}' is not supported (use ${EXEC_VERSIONS.join(' or ')})`);
  const command = text(exec.command);
  if (!command) throw new KubeconfigError('The credential plugin has no command');
  const mode = text(exec.interactiveMode) ?? 'IfAvailable';
  const env = Object.fromEntries(((exec.env ?? []) as Entry[]).flatMap((e) => (typeof e?.name === 'string' ? [[e.name, String(e.value ?? '')]] : [])));
  return {
    // A command given as a path is relative to the kubeconfig; a bare name is looked up in PATH.
    command: command.includes('/') ? path.resolve(user.dir, command) : command,
    args: Array.isArray(exec.args) ? exec.args.map(String) : [],
    env,
    apiVersion,
    interactive: mode === 'Never' || mode === 'Always' ? mode : 'IfAvailable',
    installHint: text(exec.installHint),
    cluster: exec.provideClusterInfo === true ? {
      server: target.server,
      'tls-server-name': target.serverName,
      'insecure-skip-tls-verify': target.insecure,
      'certificate-authority-data': target.ca?.toString('base64'),
      'proxy-url': target.proxyUrl,
      config: ((cluster.value.extensions ?? []) as Entry[]).find((e) => e?.name === 'client.authentication.k8s.io/exec')?.extension,
    } : undefined,
  };
}

/**
 * Runs a credential plugin and adds what it gives (a token, or a client certificate and key) to
 * `target`. The plugin's stderr is the operator's to see, as with kubectl; its stdout is read as
 * an ExecCredential and never shown.
 */
export function execCredential(plugin: ExecPlugin, target: KubeTarget, deadlineMs: number): Promise<void> {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const interactive = plugin.interactive !== 'Never' && process.stdin.isTTY === true;
  if (plugin.interactive === 'Always' && !interactive) {
    return Promise.reject(new KubeconfigError(`The credential plugin ${plugin.command} needs a terminal (interactiveMode: Always)`));
  }
  const info = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive, ...(plugin.cluster ? { cluster: plugin.cluster } : {}) } };
  return new Promise((resolve, reject) => {
    const child = spawn(plugin.command, plugin.args, {
      env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
      stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new KubeconfigError(`The credential plugin ${plugin.command} did not answer within ${deadlineMs} ms`));
    }, deadlineMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const missing = error.code === 'ENOENT' ? `was not found${plugin.installHint ? ` (${plugin.installHint.trim()})` : ''}` : `could not start (${error.message})`;
      reject(new KubeconfigError(`The credential plugin ${plugin.command} ${missing}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new KubeconfigError(`The credential plugin ${plugin.command} failed (exit code ${code})`));
      let status: Entry | undefined;
      try {
        const credential = JSON.parse(stdout) as Entry;
        if (credential.kind === 'ExecCredential' && credential.apiVersion === plugin.apiVersion) status = credential.status as Entry | undefined;
      } catch {
        // Said below.
      }
      const token = text(status?.token);
      const cert = text(status?.clientCertificateData);
      const key = text(status?.clientKeyData);
      if (token) target.headers.authorization = `Bearer ${token}`;
      else if (cert && key) Object.assign(target, { cert: Buffer.from(cert), key: Buffer.from(key) });
      else return reject(new KubeconfigError(`The credential plugin ${plugin.command} gave no ${plugin.apiVersion} ExecCredential with a token or a client certificate`));
      resolve();
    });
  });
}
