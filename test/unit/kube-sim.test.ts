/**
 * kube-sim driven the way bm drives a kind cluster: the real `kubectl` binary (always with
 * --kubeconfig, --context and --request-timeout), plus plain HTTP requests (`api()`) for what
 * the simulator must answer at the wire level, and every fault mode seen from both.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http } from '../support/console.ts';
import { startKubeSim, type KubeSim } from '../support/kube-sim/index.ts';
import { alive } from '../support/processes.ts';
import { kubectlTest } from '../support/kube-sim/kubectl.ts';
import { strategicMerge } from '../support/kube-sim/patch.ts';
import { parseLabelSelector } from '../support/kube-sim/selectors.ts';

const NS = 'bm-team';
const TOKEN = 'ghp_kubeSimTestToken0123456789abcdef';

let sim: KubeSim;
/** Registers a test that runs kubectl: skipped, with the reason printed, when kubectl is missing or too old. */
const withKubectl = await kubectlTest(test, 'kube-sim');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs real kubectl against the simulator, with a hard kill so no test can hang. */
function kubectl(args: string[], opts: { input?: string; timeout?: string; killAfterMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', [...sim.kubectlFlags(opts.timeout ?? '5s'), ...args], {
      env: { ...process.env, ...sim.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? '');
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, { input });
  assert.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Polls `check` until it returns true or the deadline passes; the caller asserts afterwards. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

interface PodJson {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready?: boolean; image?: string; restartCount?: number; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

async function podJson(name: string, ns = NS): Promise<PodJson> {
  return JSON.parse(await ok(['get', 'pod', name, '-n', ns, '-o', 'json'])) as PodJson;
}

/**
 * One plain HTTP request to the simulator's API: its status and parsed JSON body. Rejects when no
 * answer comes. Through node:http on a fresh connection, not fetch: Deno's fetch names no error
 * code (ECONNREFUSED, ECONNRESET), and re-sends a request whose kept-alive connection closes
 * unanswered, so a hang would end in an answer.
 */
async function api(method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await http(sim.port, method, apiPath, { Accept: 'application/json', 'Content-Type': contentType }, body === undefined ? undefined : JSON.stringify(body));
  return { status: answer.status, json: JSON.parse(answer.body) as Record<string, unknown> };
}

/** The names in a list answer. */
function names(list: { json: Record<string, unknown> }): string[] {
  return ((list.json.items ?? []) as { metadata: { name: string } }[]).map((i) => i.metadata.name);
}

function podManifest(name: string, extra: { image?: string; command?: string[]; secretKey?: string } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'botminter', team: 'alpha', member: name } },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'ralph',
          image: extra.image ?? 'bm-agent:dev',
          imagePullPolicy: 'IfNotPresent',
          command: extra.command ?? ['ralph', 'run', '-p', 'PROMPT.md'],
          env: [{ name: 'GH_TOKEN', valueFrom: { secretKeyRef: { name: 'botminter-credentials', key: extra.secretKey ?? 'gh-token' } } }],
          volumeMounts: [{ name: 'config', mountPath: '/workspace' }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: `${name}-config` } }],
    },
  });
}

/** The thrown value of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

test.before(async () => {
  sim = await startKubeSim({ timeScale: 0.2 });
});

test.after(async () => {
  await sim?.stop();
});

// A failed assertion must not leave a fault behind for the next test.
test.after.each(async () => {
  if (sim) await sim.clearFaults();
});


withKubectl('kubectl sees a v1.32 cluster at the kubeconfig context', async () => {
  const version = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; minor: string } };
  assert.is(version.serverVersion.gitVersion, 'v1.32.2');
  const info = await ok(['cluster-info']);
  assert.match(info, `Kubernetes control plane is running at ${sim.apiUrl}`);
});

withKubectl('namespace, secret from stdin and configmap are created; the token never goes on argv', async () => {
  await sim.clearRequests();
  assert.match(await ok(['create', 'namespace', NS]), `namespace/${NS} created`);
  // kubectl's create generators send protobuf bodies.
  const posts = await sim.requests({ method: 'POST', path: /\/api\/v1\/namespaces\?/ });
  assert.is(posts[0]?.contentType, 'application/vnd.kubernetes.protobuf');

  const dup = await kubectl(['create', 'namespace', NS]);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, `Error from server (AlreadyExists): namespaces "${NS}" already exists`);

  // `--from-env-file=/dev/stdin` cannot work here: Node's stdin "pipe" is a socketpair, which
  // /dev/stdin cannot open (ENXIO). A manifest on stdin (`-f -`) works from any parent.
  const manifest = JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: 'botminter-credentials', namespace: NS },
    data: { 'gh-token': Buffer.from(TOKEN).toString('base64') },
  });
  const args = ['create', '-f', '-'];
  await ok(args, manifest);
  const secret = (await api('GET', `/api/v1/namespaces/${NS}/secrets/botminter-credentials`)).json as { type: string; data: Record<string, string> };
  assert.is(Buffer.from(secret.data['gh-token'] ?? '', 'base64').toString(), TOKEN);
  assert.is(secret.type, 'Opaque');

  await ok(['create', 'configmap', 'dev-1-config', '-n', NS, '--from-literal=PROMPT.md=hello']);
  const cmPost = await sim.requests({ method: 'POST', path: /configmaps\?/ });
  assert.is(cmPost[0]?.contentType, 'application/vnd.kubernetes.protobuf');
  await ok(['create', 'configmap', 'dev-2-config', '-n', NS, '--from-literal=PROMPT.md=hello']);
  const cm = await api('GET', `/api/v1/namespaces/${NS}/configmaps/dev-1-config`);
  assert.equal(cm.json.data, { 'PROMPT.md': 'hello' });
});

withKubectl('server-side apply of a Secret on stdin conflicts with kubectl-create unless forced; no annotation', async () => {
  const manifest = JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: 'botminter-credentials', namespace: NS },
    stringData: { 'gh-token': `${TOKEN}-rotated` },
  });
  const conflict = await kubectl(['apply', '--server-side', '-f', '-'], { input: manifest });
  assert.is(conflict.code, 1);
  assert.match(conflict.stderr, 'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.gh-token');
  assert.match(await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], manifest), 'serverside-applied');
  const secret = (await api('GET', `/api/v1/namespaces/${NS}/secrets/botminter-credentials`)).json as { data: Record<string, string>; metadata: { annotations?: unknown } };
  assert.is(Buffer.from(secret.data['gh-token'] ?? '', 'base64').toString(), `${TOKEN}-rotated`);
  assert.is(secret.metadata.annotations, undefined);
  const patch = (await sim.requests({ method: 'PATCH', path: /secrets\/botminter-credentials/ })).at(-1);
  assert.is(patch?.contentType, 'application/apply-patch+yaml');
  assert.match(patch?.path ?? '', 'fieldManager=kubectl');
});

withKubectl('a pod applied server-side goes Pending → Running, and Ready only after its readiness delay', async () => {
  // 4 s at timeScale 0.2: the first look that finds it Running comes well before, however loaded the machine.
  await sim.fault({ kind: 'slow-ready', name: 'dev-1', readyMs: 20_000 });
  const out = await ok(['apply', '--server-side', '-f', '-'], podManifest('dev-1'));
  assert.match(out, 'pod/dev-1 serverside-applied');
  let early: PodJson = {};
  const running = await eventually(async () => (early = await podJson('dev-1')).status?.phase === 'Running');
  assert.ok(running, 'pod reached Running');
  assert.is(early.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False', 'Running, not yet Ready');
  const wait = await kubectl(['wait', '--for=condition=Ready', 'pod/dev-1', '-n', NS, '--timeout=15s']);
  assert.is(wait.code, 0, wait.stderr);
  const pod = await podJson('dev-1');
  assert.is(pod.status?.phase, 'Running');
  assert.is(pod.status?.containerStatuses?.[0].ready, true);
  assert.is(pod.status?.containerStatuses?.[0].image, 'docker.io/library/bm-agent:dev');
  assert.is(pod.spec?.nodeName, 'kind-control-plane');
  await sim.clearFaults();
});

withKubectl('label-selector lists through kubectl and over plain HTTP', async () => {
  await ok(['apply', '--server-side', '-f', '-'], podManifest('dev-2'));
  const all = JSON.parse(await ok(['get', 'pods', '-n', NS, '-l', 'app=botminter,team=alpha', '-o', 'json'])) as { items: PodJson[] };
  assert.equal(all.items.map((p) => p.metadata?.name), ['dev-1', 'dev-2']);
  const one = await api('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent('app=botminter,member in (dev-2)')}`);
  assert.equal(names(one), ['dev-2']);
  const none = await api('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent('team!=alpha')}`);
  assert.is(names(none).length, 0);
  const table = await ok(['get', 'pods', '-n', NS]);
  assert.match(table, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
});

withKubectl('a pod spec is immutable: kubectl and a JSON patch both get 422 Invalid; an image change is allowed', async () => {
  const changed = await kubectl(['apply', '--server-side', '-f', '-'], { input: podManifest('dev-2', { command: ['ralph', 'run'] }) });
  assert.is(changed.code, 1);
  assert.match(changed.stderr, 'The Pod "dev-2" is invalid: spec: Forbidden: pod updates may not change fields other than');
  const patched = await api('PATCH', `/api/v1/namespaces/${NS}/pods/dev-2`, [{ op: 'replace', path: '/spec/containers/0/command', value: ['sh'] }], 'application/json-patch+json');
  assert.is(patched.status, 422);
  const status = patched.json as { reason: string; details: { kind: string; causes: { field: string }[] } };
  assert.is(status.reason, 'Invalid');
  assert.is(status.details.kind, 'Pod');
  assert.is(status.details.causes[0].field, 'spec');
  assert.match(await ok(['apply', '--server-side', '-f', '-'], podManifest('dev-2', { image: 'bm-agent:dev2' })), 'serverside-applied');
  const restarted = await eventually(async () => (await podJson('dev-2')).status?.containerStatuses?.[0].restartCount === 1);
  assert.ok(restarted, 'image change restarts the container in place');
});

withKubectl('a watch sees MODIFIED and DELETED; delete --wait returns once the pod is gone', async () => {
  const seen: string[] = [];
  const list = await api('GET', `/api/v1/namespaces/${NS}/pods`);
  const resourceVersion = (list.json.metadata as { resourceVersion: string }).resourceVersion;
  const watch = new AbortController();
  const response = await fetch(`${sim.apiUrl}/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${resourceVersion}&fieldSelector=metadata.name%3Ddev-2`, { signal: watch.signal });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) seen.push((JSON.parse(line) as { type: string }).type);
    }
  })().catch(() => undefined);
  const deleted = await kubectl(['delete', 'pod', 'dev-2', '-n', NS]);
  assert.is(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, 'pod "dev-2" deleted');
  const gone = await kubectl(['get', 'pod', 'dev-2', '-n', NS]);
  assert.is(gone.code, 1);
  assert.match(gone.stderr, 'Error from server (NotFound): pods "dev-2" not found');
  assert.ok(await eventually(async () => seen.includes('DELETED'), 2000), `watch events: ${seen.join(',')}`);
  assert.is(seen[0], 'MODIFIED');
  watch.abort();
  await reading;

  const missing = await api('GET', `/api/v1/namespaces/${NS}/pods/dev-2`);
  assert.is(missing.status, 404);
  assert.is(missing.json.reason, 'NotFound');
});

withKubectl('creating a pod while its namesake is still terminating gives 409 "object is being deleted"', async () => {
  await sim.fault({ kind: 'pod', match: { name: 'dev-1' }, behavior: { ignoreSigterm: true } });
  const del = await kubectl(['delete', 'pod', 'dev-1', '-n', NS, '--wait=false']);
  assert.is(del.code, 0, del.stderr);
  const create = await kubectl(['create', '-f', '-'], { input: podManifest('dev-1') });
  assert.is(create.code, 1);
  assert.match(create.stderr, 'object is being deleted: pods "dev-1" already exists');
  const terminating = await podJson('dev-1');
  assert.ok(terminating.metadata?.deletionTimestamp, 'old pod is terminating');
  await sim.clearFaults();
  await ok(['delete', 'pod', 'dev-1', '-n', NS, '--grace-period=0', '--force']);
});

withKubectl('refused: kubectl reports the refused connection fast, a request gets ECONNREFUSED, then it recovers', async () => {
  await sim.fault({ kind: 'refuse' });
  const r = await kubectl(['get', 'pods', '-n', NS], { timeout: '2s' });
  assert.is(r.code, 1);
  assert.match(r.stderr, `The connection to the server 127.0.0.1:${sim.port} was refused`);
  assert.ok(r.ms < 2000, `took ${r.ms} ms`);
  const error = await rejection(api('GET', `/api/v1/namespaces/${NS}/pods`));
  assert.is(errorCode(error), 'ECONNREFUSED');
  await sim.clearFaults();
  assert.is((await kubectl(['get', 'pods', '-n', NS])).code, 0);
});

withKubectl('hang: kubectl gives up at --request-timeout, a request gets no answer', async () => {
  await sim.fault({ kind: 'hang' });
  const r = await kubectl(['get', 'pods', '-n', NS], { timeout: '1s' });
  assert.is(r.code, 1);
  // Which of Go's timeout messages appears depends on where the deadline hits.
  assert.match(r.stderr, /context deadline exceeded|Client\.Timeout exceeded/, r.stderr);
  assert.ok(r.ms < 6000, `took ${r.ms} ms`);
  const pending = api('GET', `/api/v1/namespaces/${NS}/pods`).then(() => 'answered', () => 'failed');
  const outcome = await Promise.race([pending, new Promise((r) => setTimeout(() => r('no answer'), 500))]);
  assert.is(outcome, 'no answer');
  await sim.clearFaults();
  assert.is(await pending, 'failed');
});

withKubectl('500: kubectl prints InternalError and an empty List, exits 1; a request gets the 500 Status', async () => {
  await sim.fault({ kind: 'error', status: 500, path: `/api/v1/namespaces/${NS}/pods`, times: 2 });
  const r = await kubectl(['get', 'pods', '-n', NS, '-o', 'json']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'Error from server (InternalError): etcdserver: request timed out');
  assert.is((JSON.parse(r.stdout) as { items: unknown[] }).items.length, 0);
  const failed = await api('GET', `/api/v1/namespaces/${NS}/pods`);
  assert.is(failed.status, 500);
  assert.is(failed.json.reason, 'InternalError');
  assert.is((await kubectl(['get', 'pods', '-n', NS])).code, 0, 'only two requests fail');
});

withKubectl('connection reset: kubectl and a plain request both see the reset', async () => {
  await sim.fault({ kind: 'reset', path: '/pods' });
  const r = await kubectl(['get', 'pods', '-n', NS], { timeout: '1s' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /EOF|connection reset/, r.stderr);
  const error = await rejection(api('GET', `/api/v1/namespaces/${NS}/pods`));
  assert.is(errorCode(error), 'ECONNRESET');
  await sim.clearFaults();
});

withKubectl('image pull failure: the pod waits in ErrImagePull / ImagePullBackOff', async () => {
  await sim.fault({ kind: 'image-pull', image: 'ghcr\\.io/missing/.*' });
  await ok(['apply', '--server-side', '-f', '-'], podManifest('dev-3', { image: 'ghcr.io/missing/ralph:v1' }));
  const stuck = await eventually(async () => {
    const reason = (await podJson('dev-3')).status?.containerStatuses?.[0].state?.waiting?.reason;
    return reason === 'ErrImagePull' || reason === 'ImagePullBackOff';
  });
  assert.ok(stuck, 'waiting on the image pull');
  assert.is((await podJson('dev-3')).status?.phase, 'Pending');
  await sim.clearFaults();
});

withKubectl('missing secret key: CreateContainerConfigError until the key exists, then Running', async () => {
  await ok(['create', 'configmap', 'dev-4-config', '-n', NS, '--from-literal=a=b']);
  await ok(['apply', '--server-side', '-f', '-'], podManifest('dev-4', { secretKey: 'telegram-bot-token' }));
  const blocked = await eventually(async () => (await podJson('dev-4')).status?.containerStatuses?.[0].state?.waiting?.reason === 'CreateContainerConfigError');
  assert.ok(blocked, 'blocked on the missing key');
  const waiting = (await podJson('dev-4')).status?.containerStatuses?.[0].state?.waiting;
  assert.is(waiting?.message, `couldn't find key telegram-bot-token in Secret ${NS}/botminter-credentials`);
  const patched = await api('PATCH', `/api/v1/namespaces/${NS}/secrets/botminter-credentials`, [{ op: 'add', path: '/data/telegram-bot-token', value: 'eA==' }], 'application/json-patch+json');
  assert.is(patched.status, 200);
  assert.ok(await eventually(async () => (await podJson('dev-4')).status?.phase === 'Running'), 'runs once the key exists');
});

withKubectl('crash: the API vanishes (refused); restart() brings it back with its state', async () => {
  const oldPid = sim.pid;
  await sim.fault({ kind: 'crash' });
  const r = await kubectl(['get', 'ns', NS], { timeout: '2s' });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'refused');
  await sim.restart();
  assert.is.not(sim.pid, oldPid);
  const ns = await api('GET', `/api/v1/namespaces/${NS}`);
  assert.is((ns.json.status as { phase: string }).phase, 'Active');
});

withKubectl('request log records method, path, content type and user agent', async () => {
  await sim.clearRequests();
  await ok(['get', 'pods', '-n', NS, '-l', 'app=botminter', '-o', 'json']);
  const [get] = await sim.requests({ method: 'GET', path: /pods\?labelSelector=app%3Dbotminter/ });
  assert.ok(get, 'list request logged');
  assert.match(get.userAgent ?? '', /^kubectl/);
  assert.is(get.status, 200);
  assert.is(get.accept, 'application/json');
});

test('strategic merge honours merge keys and directives; label selectors parse set expressions', () => {
  const merged = strategicMerge(
    { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }], finalizers: ['f1'], command: ['old'] } },
    {
      spec: {
        '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }],
        containers: [{ name: 'c', image: 'w' }, { name: 'a', $patch: 'delete' }],
        finalizers: ['f2'],
        command: ['new'],
      },
    },
    'Pod',
  );
  assert.equal(merged, {
    spec: { containers: [{ name: 'c', image: 'w' }, { name: 'b', image: 'y' }], finalizers: ['f1', 'f2'], command: ['new'] },
  });
  const selector = parseLabelSelector('app=botminter,tier in (a, b),!legacy');
  assert.ok(selector.matches({ app: 'botminter', tier: 'b' }));
  assert.not.ok(selector.matches({ app: 'botminter', tier: 'c' }));
  assert.not.ok(selector.matches({ app: 'botminter', tier: 'a', legacy: '1' }));
});

test('stop() leaves no process and no temp dir behind', async () => {
  const other = await startKubeSim();
  const pid = other.pid;
  await other.stop();
  assert.not.ok(alive(pid), `kube-sim pid ${pid} still running: ${existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').slice(0, 40) : 'gone'}`);
  assert.not.ok(existsSync(other.dir));
});

test.run();
