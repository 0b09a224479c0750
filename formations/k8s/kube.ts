/**
 * What the three hat scripts of the k8s formation share: their environment, the formation's
 * settings, the team's members, the manifests bm deploys and how to read a pod's health.
 *
 * The scripts are run by bm (`runner: script`) or by the formation manager's ralph session, in
 * this directory, with BM_HOME, BM_WORKZONE, BM_TEAM_NAME and BM_TEAM_REPO set (and KUBECONFIG
 * when the operator uses one). Every kubectl call is written out in the hat script that makes
 * it, always with `--context` and `--request-timeout`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import process from 'node:process';

/** The `app` label of every object bm creates. */
export const APP = 'botminter';
/** The Secret holding the team's tokens. */
export const SECRET = 'botminter-credentials';
/** The member container's name in each pod. */
export const CONTAINER = 'ralph';
/** The pod annotation holding the hash of its spec and ConfigMap data. */
export const HASH_ANNOTATION = 'botminter.dev/config-hash';
/** The member files that go into each member's ConfigMap. */
export const MEMBER_FILES = ['PROMPT.md', 'CLAUDE.md', 'ralph.yml'] as const;

/** Everything a hat script needs to know, from the environment and formation.yml. */
export interface Deployment {
  team: string;
  teamRepo: string;
  /** `{workzone}/{team}`: where topology.json goes. */
  teamDir: string;
  formationDir: string;
  context: string;
  image: string;
  namespace: string;
  /** `--context C --request-timeout T`: the flags of every kubectl call. */
  flags: string[];
}

/** Prints `Error: what. How to fix.` and exits 1: the hat failed and the manager must stop. */
export function fail(what: string, hint = ''): never {
  process.stderr.write(`Error: ${what.replace(/[.\s]+$/, '')}.${hint ? ` ${hint}` : ''}\n`);
  process.exit(1);
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`, 'Run this script through `bm start --formation k8s`, which sets BM_HOME, BM_WORKZONE, BM_TEAM_NAME and BM_TEAM_REPO.');
  return value;
}

interface FormationFile {
  k8s?: { context?: string; image?: string; namespace_prefix?: string };
}

/** Reads the environment and formation.yml. `formationDir` is this formation's directory. */
export function deployment(formationDir: string): Deployment {
  required('BM_HOME');
  const team = required('BM_TEAM_NAME');
  const teamRepo = required('BM_TEAM_REPO');
  const teamDir = path.join(required('BM_WORKZONE'), team);
  // yaml is required here rather than imported: bm status imports this module for podHealth only.
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const settings = (parse(readFileSync(path.join(formationDir, 'formation.yml'), 'utf8')) as FormationFile | null)?.k8s ?? {};
  const context = settings.context ?? 'kind-botminter';
  return {
    team,
    teamRepo,
    teamDir,
    formationDir,
    context,
    image: settings.image ?? 'bm-member:dev',
    namespace: `${settings.namespace_prefix ?? 'botminter'}-${team}`,
    flags: ['--context', context, `--request-timeout=${process.env.BM_K8S_REQUEST_TIMEOUT ?? '10s'}`],
  };
}

/** The hired members: the directories under the team repo's `members/`, sorted. */
export function memberNames(d: Deployment): string[] {
  const dir = path.join(d.teamRepo, 'members');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** The kind cluster name behind a `kind-<name>` context. */
export function kindCluster(context: string): string {
  return context.startsWith('kind-') ? context.slice('kind-'.length) : context;
}

type Json = Record<string, unknown>;

/** The team's labels, plus `member` when given. */
export function labels(d: Deployment, member?: string): Record<string, string> {
  return { app: APP, team: d.team, ...(member ? { member } : {}) };
}

/** The label selector of every object of the team. */
export function teamSelector(d: Deployment): string {
  return `app=${APP},team=${d.team}`;
}

/** The data of a member's ConfigMap: its PROMPT.md, CLAUDE.md and ralph.yml (`{{member}}` filled in). */
export function memberConfig(d: Deployment, member: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const file of MEMBER_FILES) {
    const full = path.join(d.teamRepo, 'members', member, file);
    if (existsSync(full)) data[file] = readFileSync(full, 'utf8').replaceAll('{{member}}', member);
  }
  return data;
}

/** The input files a member's deployment is made from, relative to the team repo. */
export function memberInputs(member: string): string[] {
  return MEMBER_FILES.map((file) => `members/${member}/${file}`);
}

/** The Namespace manifest. */
export function namespaceManifest(d: Deployment): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: d.namespace, labels: labels(d) } };
}

/** The credentials Secret. It only ever goes to kubectl on stdin. */
export function secretManifest(d: Deployment, ghToken: string, telegramToken?: string): Json {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, namespace: d.namespace, labels: labels(d) },
    type: 'Opaque',
    data: { 'gh-token': b64(ghToken), ...(telegramToken ? { 'telegram-bot-token': b64(telegramToken) } : {}) },
  };
}

/** A member's ConfigMap. */
export function configMapManifest(d: Deployment, member: string, data: Record<string, string>): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${member}-config`, namespace: d.namespace, labels: labels(d, member) }, data };
}

/**
 * A member's Pod. Pod specs are immutable, so a changed member is deleted and created again;
 * the config-hash annotation (spec plus ConfigMap data) tells whether it changed.
 */
export function podManifest(d: Deployment, member: string, data: Record<string, string>, telegram: boolean): Json {
  const env: Json[] = [{ name: 'GH_TOKEN', valueFrom: { secretKeyRef: { name: SECRET, key: 'gh-token' } } }];
  if (telegram) env.push({ name: 'RALPH_TELEGRAM_BOT_TOKEN', valueFrom: { secretKeyRef: { name: SECRET, key: 'telegram-bot-token' } } });
  const spec = {
    restartPolicy: 'Never',
    containers: [{
      name: CONTAINER,
      image: d.image,
      // A kind-loaded image must not be pulled from a registry (`:latest` would default to Always).
      imagePullPolicy: 'IfNotPresent',
      // ConfigMap volumes are read-only and ralph writes .ralph/ next to its prompt: copy first.
      command: ['/bin/sh', '-c', 'cp -L /etc/botminter/* /workspace/ && cd /workspace && exec ralph run -P PROMPT.md'],
      env,
      volumeMounts: [{ name: 'config', mountPath: '/etc/botminter', readOnly: true }, { name: 'workspace', mountPath: '/workspace' }],
    }],
    volumes: [{ name: 'config', configMap: { name: `${member}-config` } }, { name: 'workspace', emptyDir: {} }],
  };
  // node:crypto is loaded here, not at the top: bm status imports this module for podHealth.
  const { createHash } = process.getBuiltinModule('node:crypto');
  const hash = createHash('sha256').update(JSON.stringify({ spec, data })).digest('hex').slice(0, 16);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: member, namespace: d.namespace, labels: labels(d, member), annotations: { [HASH_ANNOTATION]: hash } },
    spec,
  };
}

/** The parts of a Pod the scripts read. */
export interface Pod {
  metadata: { name: string; uid?: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: { name: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

/** Waiting reasons that never fix themselves: the verifier fails fast on them. */
export const FATAL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CrashLoopBackOff']);

/** A pod's health in one word: ready, starting, or failed (with why). */
export function podHealth(pod: Pod): { state: 'ready' | 'starting' | 'failed'; reason: string } {
  if (pod.metadata.deletionTimestamp) return { state: 'failed', reason: 'Terminating' };
  const phase = pod.status?.phase ?? 'Pending';
  const container = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER);
  const terminated = container?.state?.terminated;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return { state: 'failed', reason: `${phase}${terminated ? ` (${terminated.reason ?? 'exit'} ${terminated.exitCode ?? ''})`.trimEnd() : ''}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && FATAL_REASONS.has(waiting.reason)) {
    return { state: 'failed', reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (phase === 'Running' && ready) return { state: 'ready', reason: 'Running' };
  return { state: 'starting', reason: waiting?.reason ?? phase };
}

/** Parses `kubectl get ... -o json` output, whose items are pods. */
export function podsOf(json: string): Pod[] {
  return ((JSON.parse(json) as { items?: Pod[] }).items ?? []);
}

/** The last line kubectl printed on stderr, for error messages. */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}
