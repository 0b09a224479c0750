/**
 * What the three hat scripts of the k8s formation share: their environment, the formation's
 * settings, the team's members, the manifests bm deploys and how to read a pod's health.
 *
 * The scripts are run by bm (`runner: script`) or by the formation manager's ralph session, in
 * this directory, with BM_HOME, BM_WORKZONE, BM_TEAM_NAME and BM_TEAM_REPO set (and KUBECONFIG
 * when the operator uses one). Every kubectl call is written out in the hat script that makes
 * it, always with `--context` and `--request-timeout`, through `kubectl()` here, which also
 * gives it a total deadline.
 *
 * Each member is one StatefulSet with one replica (see docs/formations.md for why not a
 * Deployment): the controller heals the pod after a crash, an eviction or a `kubectl delete
 * pod`, and never runs two pods of the same member at once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/** `app.kubernetes.io/part-of` of every object bm creates. */
export const PART_OF = 'botminter';
/** `app.kubernetes.io/managed-by` of every object bm creates. */
export const MANAGED_BY = 'bm';
/** The stable team label on everything bm deploys (what finds a team's objects in any namespace). */
export const TEAM_LABEL = 'botminter.dev/team';
/** The stable member label on each member's objects. */
export const MEMBER_LABEL = 'botminter.dev/member';
/** The kubeconfig context when formation.yml names none. */
export const DEFAULT_CONTEXT = 'kind-botminter';
/** The Secret holding the team's tokens. */
export const SECRET = 'botminter-credentials';
/** The member container's name in each pod (one per workspace; see `slotsOf`). */
export const CONTAINER = 'ralph';
/** Hash of a member's pod template and config: a change rolls the member. */
export const HASH_ANNOTATION = 'botminter.dev/config-hash';
/** Hash of the credentials a member's pods were started with: a new token rolls them. */
export const SECRET_VERSION_ANNOTATION = 'botminter.dev/secret-version';
/** Where a member's workspace is inside its pod. */
export const WORKSPACE = '/workspace';
/** The member files that go, rendered, into each member's ConfigMap. */
export const MEMBER_FILES = ['PROMPT.md', 'CLAUDE.md', 'ralph.yml'] as const;
/** What `--dry-run` prints for every Secret value: valid base64 of `<redacted>`. */
export const REDACTED_B64 = Buffer.from('<redacted>').toString('base64');

/** Credentials the members get, by Secret key: the environment variable each comes from and goes to. */
export const CREDENTIALS = [
  { key: 'gh-token', env: 'GH_TOKEN' },
  { key: 'anthropic-api-key', env: 'ANTHROPIC_API_KEY' },
  { key: 'claude-code-oauth-token', env: 'CLAUDE_CODE_OAUTH_TOKEN' },
  { key: 'telegram-bot-token', env: 'RALPH_TELEGRAM_BOT_TOKEN' },
] as const;

/** The uid the member image runs as (formations/k8s/image/Dockerfile). */
const MEMBER_UID = 10001;
/** Requests and limits when formation.yml names none: a Claude Code session plus git and node. */
const DEFAULT_RESOURCES = { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One workspace of a member: the whole pod for zero or one project, else one per project. */
export interface Slot {
  /** The topology key: the member, or `<member>/<project>` on a multi-project team. */
  key: string;
  project: string | null;
  /** The project's git URL. */
  url: string | null;
  /** The workspace directory in the pod. */
  dir: string;
  container: string;
  /** The prefix of this slot's files in the ConfigMap (`''` or `<project>.`). */
  prefix: string;
}

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
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /** The team's projects, from botminter.yml. */
  projects: { name: string; url: string }[];
  /** The URL the pods clone the team repo from (its `origin`), if it has one. */
  teamRemote: string | undefined;
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

type Json = Record<string, unknown>;

interface FormationFile {
  k8s?: { context?: string; image?: string; namespace_prefix?: string; resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } };
}

/** A short hex digest of `text`. */
export function digest(text: string, length = 16): string {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * `name` when it has at most `max` characters, else its start plus `-` and a hash of the whole,
 * so two long names never shorten to the same one.
 */
export function shortName(name: string, max: number): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - 9).replace(/-+$/, '')}-${digest(name, 8)}`;
}

/** The namespace of team `team`: `<prefix>-<team>`, shortened with a hash past 63 characters. */
export function namespaceName(prefix: string, team: string): string {
  return shortName(`${prefix}-${team}`, 63);
}

/** The StatefulSet of a member; 52 characters at most, so its pods' revision label stays within 63. */
export function statefulSetName(member: string): string {
  return shortName(member, 52);
}

/** The one pod of a member's StatefulSet. */
export function podName(member: string): string {
  return `${statefulSetName(member)}-0`;
}

function yamlParse(text: string): unknown {
  // yaml is required here rather than imported: bm status imports this module for podHealth only.
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text);
}

/** The `origin` URL of a git checkout, read from its config (no git process). */
function originOf(repo: string): string | undefined {
  const config = path.join(repo, '.git', 'config');
  if (!existsSync(config)) return undefined;
  const match = /\[remote "origin"\][^[]*?\burl\s*=\s*(\S+)/.exec(readFileSync(config, 'utf8'));
  return match?.[1];
}

/** A quantity as formation.yml may give it (`1`, `"500m"`, `2Gi`). */
function quantities(values: Record<string, unknown> | undefined, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    const text = String(value);
    if (!/^(cpu|memory|ephemeral-storage)$/.test(name) || !/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(text)) {
      fail(`k8s.resources.${where}.${name} in formation.yml is not a valid quantity (${text})`, 'Use cpu, memory or ephemeral-storage with values such as 500m, 1, 512Mi or 2Gi.');
    }
    out[name] = text;
  }
  return out;
}

/** Reads the environment and formation.yml. `formationDir` is this formation's directory. */
export function deployment(formationDir: string): Deployment {
  required('BM_HOME');
  const team = required('BM_TEAM_NAME');
  const teamRepo = required('BM_TEAM_REPO');
  const teamDir = path.join(required('BM_WORKZONE'), team);
  const settings = (yamlParse(readFileSync(path.join(formationDir, 'formation.yml'), 'utf8')) as FormationFile | null)?.k8s ?? {};
  const prefix = settings.namespace_prefix ?? 'botminter';
  if (!DNS_LABEL.test(prefix) || prefix.length > 40) fail(`k8s.namespace_prefix '${prefix}' in formation.yml is not a short DNS label`, 'Use lowercase letters, digits and dashes, at most 40 characters.');
  const context = settings.context ?? DEFAULT_CONTEXT;
  const manifest = yamlParse(readFileSync(path.join(teamRepo, 'botminter.yml'), 'utf8')) as { projects?: { name: string; fork_url: string }[] | null } | null;
  const projects = (manifest?.projects ?? []).map((p) => ({ name: String(p.name), url: String(p.fork_url) }));
  for (const p of projects) {
    if (!DNS_LABEL.test(p.name)) fail(`Project name '${p.name}' in botminter.yml is not valid`, 'Fix the team repo\'s botminter.yml.');
    if (!/^[^\s'"\\]+$/.test(p.url)) fail(`The URL of project ${p.name} in botminter.yml is not a plain URL`, 'Fix the team repo\'s botminter.yml.');
  }
  const resources = settings.resources ?? {};
  return {
    team,
    teamRepo,
    teamDir,
    formationDir,
    context,
    image: settings.image ?? 'bm-member:dev',
    namespace: namespaceName(prefix, team),
    resources: {
      requests: { ...DEFAULT_RESOURCES.requests, ...quantities(resources.requests, 'requests') },
      limits: { ...DEFAULT_RESOURCES.limits, ...quantities(resources.limits, 'limits') },
    },
    projects: projects.sort((a, b) => a.name.localeCompare(b.name)),
    teamRemote: originOf(teamRepo),
    flags: ['--context', context, `--request-timeout=${process.env.BM_K8S_REQUEST_TIMEOUT ?? '5s'}`],
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

/** A member's workspaces in its pod: as many as a local member has (one per project when there are several). */
export function slotsOf(d: Pick<Deployment, 'projects'>, member: string): Slot[] {
  if (d.projects.length <= 1) {
    const p = d.projects[0];
    return [{ key: member, project: p?.name ?? null, url: p?.url ?? null, dir: WORKSPACE, container: CONTAINER, prefix: '' }];
  }
  return d.projects.map((p) => ({
    key: `${member}/${p.name}`,
    project: p.name,
    url: p.url,
    dir: `${WORKSPACE}/${p.name}`,
    container: shortName(`${CONTAINER}-${p.name}`, 63),
    prefix: `${p.name}.`,
  }));
}

/** The kind cluster name behind a `kind-<name>` context. */
export function kindCluster(context: string): string {
  return context.startsWith('kind-') ? context.slice('kind-'.length) : context;
}

/** The labels of the team's objects, plus the member's when given. */
export function labels(d: Deployment, member?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'botminter-member',
    'app.kubernetes.io/instance': shortName(member ? `${d.team}-${member}` : d.team, 63),
    'app.kubernetes.io/component': member ? 'member' : 'team',
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [TEAM_LABEL]: d.team,
    ...(member ? { [MEMBER_LABEL]: member } : {}),
  };
}

/** The label selector of every object of the team. */
export function teamSelector(d: Deployment): string {
  return `app.kubernetes.io/managed-by=${MANAGED_BY},${TEAM_LABEL}=${d.team}`;
}

/**
 * A member file for one workspace, as `bm teams sync` renders it: `{{member}}` and `{{project}}`
 * filled in; without a project, list items naming `{{project}}` are dropped.
 */
export function renderMemberFile(source: string, member: string, project: string | null): string {
  let text = source;
  if (project === null) text = text.split('\n').filter((line) => !(/^\s*-\s/.test(line) && line.includes('{{project}}'))).join('\n');
  return text.replaceAll('{{member}}', member).replaceAll('{{project}}', project ?? '');
}

/**
 * The data of a member's ConfigMap: each workspace's rendered PROMPT.md, CLAUDE.md and ralph.yml,
 * and `projects`, the `name url` lines the init container clones.
 */
export function memberConfig(d: Deployment, member: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const slot of slotsOf(d, member)) {
    for (const file of MEMBER_FILES) {
      const full = path.join(d.teamRepo, 'members', member, file);
      if (existsSync(full)) data[`${slot.prefix}${file}`] = renderMemberFile(readFileSync(full, 'utf8'), member, slot.project);
    }
  }
  data.projects = slotsOf(d, member).filter((s) => s.url).map((s) => `${s.project} ${s.url}\n`).join('');
  return data;
}

/** The input files a member's deployment is made from, relative to the team repo. */
export function memberInputs(member: string): string[] {
  return MEMBER_FILES.map((file) => `members/${member}/${file}`);
}

/** The credentials in `env`, by Secret key. */
export function credentialsOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of CREDENTIALS) if (env[c.env]) out[c.key] = env[c.env] as string;
  return out;
}

/**
 * A digest of the credentials of a namespace (never the values; salted with the namespace):
 * changes whenever any of them changes.
 */
export function secretVersion(namespace: string, credentials: Record<string, string>): string {
  return digest(`${namespace}\n${Object.entries(credentials).sort().map(([k, v]) => `${k}=${v}`).join('\n')}`);
}

/** The Namespace manifest: Pod Security "restricted" is enforced there. */
export function namespaceManifest(d: Deployment): Json {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: d.namespace,
      labels: { ...labels(d), 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
    },
  };
}

/** The credentials Secret. It only ever goes to kubectl on stdin; `redact` shows a placeholder for each value. */
export function secretManifest(d: Deployment, credentials: Record<string, string>, redact = false): Json {
  const b64 = (s: string) => (redact ? REDACTED_B64 : Buffer.from(s, 'utf8').toString('base64'));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, namespace: d.namespace, labels: labels(d), annotations: { [SECRET_VERSION_ANNOTATION]: secretVersion(d.namespace, credentials) } },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, b64(v)])),
  };
}

/** The name of a member's ConfigMap. */
export function configMapName(member: string): string {
  return `${member}-config`;
}

/** A member's ConfigMap. */
export function configMapManifest(d: Deployment, member: string, data: Record<string, string>): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: configMapName(member), namespace: d.namespace, labels: labels(d, member) }, data };
}

/**
 * The init container's script: the workspace a local member gets from `bm teams sync`. Each
 * project is cloned on the member's branch (made from the default branch when the remote has
 * none), the team repo at `.botminter/`, then the rendered files and `.claude/agents` laid over
 * it. git asks the credential helper for the token, which reads GH_TOKEN from the environment:
 * the token is never on a command line or in a file. Safe to run again on the same emptyDir.
 */
const BOOTSTRAP = `set -eu
umask 077
git config --global credential.helper '!f() { test "$1" = get && echo username=x-access-token && echo "password=$GH_TOKEN"; }; f'
git config --global user.name "$BM_MEMBER"
git config --global user.email "$BM_MEMBER@botminter.invalid"
checkout() {
  if git -C "$1" ls-remote --exit-code --heads origin "$BM_MEMBER" >/dev/null 2>&1; then
    git -C "$1" fetch -q origin "$BM_MEMBER"
    git -C "$1" switch -q "$BM_MEMBER" 2>/dev/null || git -C "$1" switch -q -c "$BM_MEMBER" --track "origin/$BM_MEMBER"
  elif git -C "$1" rev-parse -q --verify HEAD >/dev/null; then
    git -C "$1" switch -q "$BM_MEMBER" 2>/dev/null || git -C "$1" switch -q -c "$BM_MEMBER"
  else
    git -C "$1" symbolic-ref HEAD "refs/heads/$BM_MEMBER"
  fi
}
workspace() { # dir project url prefix
  if [ -n "$3" ]; then
    [ -d "$1/.git" ] || git clone -q -- "$3" "$1"
    checkout "$1"
  else
    mkdir -p "$1"; [ -d "$1/.git" ] || git init -q -b main "$1"
  fi
  if [ -d "$1/.botminter/.git" ]; then git -C "$1/.botminter" pull -q --ff-only; else git clone -q -- "$BM_TEAM_REPO_URL" "$1/.botminter"; fi
  for f in PROMPT.md CLAUDE.md ralph.yml; do
    [ ! -f "/etc/botminter/$4$f" ] || cp "/etc/botminter/$4$f" "$1/$f"
  done
  mkdir -p "$1/.claude/agents"
  for layer in coding-agent/agents \${2:+projects/$2/coding-agent/agents} "members/$BM_MEMBER/coding-agent/agents"; do
    [ -d "$1/.botminter/$layer" ] || continue
    for a in "$1/.botminter/$layer"/*; do [ ! -f "$a" ] || ln -sfn "$a" "$1/.claude/agents/"; done
  done
  s="$1/.botminter/members/$BM_MEMBER/coding-agent/settings.local.json"
  [ ! -f "$s" ] || cp "$s" "$1/.claude/settings.local.json"
  printf '%s\\n' /.botminter/ /PROMPT.md /CLAUDE.md /ralph.yml /.claude/ /.ralph/ >> "$1/.git/info/exclude"
}
if [ -s /etc/botminter/projects ] && [ "$(wc -l < /etc/botminter/projects)" -gt 1 ]; then
  while read -r name url; do workspace "${WORKSPACE}/$name" "$name" "$url" "$name."; done < /etc/botminter/projects
else
  read -r name url < /etc/botminter/projects || true
  workspace ${WORKSPACE} "\${name:-}" "\${url:-}" ""
fi
`;

/**
 * Probe: the member's loop holds its lock. ralph keeps an exclusive flock on `.ralph/loop.lock`
 * for as long as the loop runs, so a free lock means the loop ended or never started.
 */
function loopProbe(dir: string, timing: Json): Json {
  return { exec: { command: ['/bin/sh', '-c', `test -s ${dir}/.ralph/loop.lock && ! flock -n ${dir}/.ralph/loop.lock true`] }, ...timing };
}

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The StatefulSet of a member, and the hashes that say whether its live twin is current. */
export function statefulSetManifest(d: Deployment, member: string, data: Record<string, string>, credentials: Record<string, string>): Json {
  const env = (extra: Json[] = []): Json[] => [
    { name: 'BM_MEMBER', value: member },
    { name: 'BM_TEAM_NAME', value: d.team },
    { name: 'HOME', value: '/home/member' },
    ...extra,
    // Only the credentials the Secret holds: a secretKeyRef to a missing key would stop the pod.
    ...CREDENTIALS.filter((c) => c.key in credentials).map((c) => ({ name: c.env, valueFrom: { secretKeyRef: { name: SECRET, key: c.key } } })),
  ];
  const mounts = [
    { name: 'workspace', mountPath: WORKSPACE },
    { name: 'home', mountPath: '/home/member' },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const common = { image: d.image, imagePullPolicy: 'IfNotPresent', resources: d.resources, securityContext: RESTRICTED_CONTAINER };
  const containers = slotsOf(d, member).map((slot) => ({
    name: slot.container,
    ...common,
    workingDir: slot.dir,
    command: ['ralph', 'run', '-P', 'PROMPT.md'],
    env: env(slot.project ? [{ name: 'BM_PROJECT', value: slot.project }] : []),
    volumeMounts: mounts,
    // The loop has up to 5 minutes to take its lock; then a free lock for 90 s restarts it.
    startupProbe: loopProbe(slot.dir, { periodSeconds: 5, failureThreshold: 60 }),
    readinessProbe: loopProbe(slot.dir, { periodSeconds: 10, failureThreshold: 1 }),
    livenessProbe: loopProbe(slot.dir, { periodSeconds: 30, failureThreshold: 3, timeoutSeconds: 5 }),
  }));
  const podSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 30,
    securityContext: { runAsNonRoot: true, runAsUser: MEMBER_UID, runAsGroup: MEMBER_UID, fsGroup: MEMBER_UID, seccompProfile: { type: 'RuntimeDefault' } },
    initContainers: [{
      name: 'workspace',
      ...common,
      command: ['/bin/sh', '-c', BOOTSTRAP],
      env: env([{ name: 'BM_TEAM_REPO_URL', value: d.teamRemote ?? '' }]),
      volumeMounts: [...mounts, { name: 'config', mountPath: '/etc/botminter', readOnly: true }],
    }],
    containers,
    volumes: [
      { name: 'config', configMap: { name: configMapName(member) } },
      { name: 'workspace', emptyDir: {} },
      { name: 'home', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ],
  };
  const hash = digest(JSON.stringify({ podSpec, data }));
  const annotations = { [HASH_ANNOTATION]: hash, [SECRET_VERSION_ANNOTATION]: secretVersion(d.namespace, credentials) };
  const selector = { [TEAM_LABEL]: d.team, [MEMBER_LABEL]: member };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: statefulSetName(member), namespace: d.namespace, labels: labels(d, member), annotations },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      updateStrategy: { type: 'RollingUpdate' },
      template: { metadata: { labels: labels(d, member), annotations }, spec: podSpec },
    },
  };
}

/** One member as it should be on the cluster. */
export interface Desired {
  member: string;
  config: Json;
  statefulSet: Json;
  hash: string;
  secretVersion: string;
}

/** Every member's desired objects. */
export function desiredMembers(d: Deployment, credentials: Record<string, string>): Desired[] {
  return memberNames(d).map((member) => {
    const data = memberConfig(d, member);
    const statefulSet = statefulSetManifest(d, member, data, credentials);
    const annotations = (statefulSet.metadata as { annotations: Record<string, string> }).annotations;
    return { member, config: configMapManifest(d, member, data), statefulSet, hash: annotations[HASH_ANNOTATION], secretVersion: annotations[SECRET_VERSION_ANNOTATION] };
  });
}

/** The parts of an object the scripts read. */
export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The parts of a Pod the scripts read. */
export interface Pod {
  metadata: Meta;
  spec?: { containers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: {
      name: string;
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
      lastState?: { terminated?: { reason?: string; exitCode?: number; finishedAt?: string } };
    }[];
    initContainerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

/** The parts of a StatefulSet the scripts read. */
export interface StatefulSet {
  metadata: Meta;
  spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: { image?: string }[] } } };
}

/** Waiting reasons that never fix themselves: the verifier fails fast on them. */
export const FATAL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CrashLoopBackOff']);

/** A pod's health in one word: ready, starting, or failed (with why). */
export function podHealth(pod: Pod): { state: 'ready' | 'starting' | 'failed'; reason: string } {
  if (pod.metadata.deletionTimestamp) return { state: 'failed', reason: 'Terminating' };
  const phase = pod.status?.phase ?? 'Pending';
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const terminated = statuses.map((c) => c.state?.terminated).find((t) => t && t.exitCode !== 0);
  if (phase === 'Failed' || phase === 'Succeeded') {
    return { state: 'failed', reason: `${phase}${terminated ? ` (${terminated.reason ?? 'exit'} ${terminated.exitCode ?? ''})`.trimEnd() : ''}` };
  }
  const waiting = statuses.map((c) => c.state?.waiting).find((w) => w?.reason && FATAL_REASONS.has(w.reason));
  if (waiting?.reason) return { state: 'failed', reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (phase === 'Running' && ready) return { state: 'ready', reason: 'Running' };
  return { state: 'starting', reason: statuses.map((c) => c.state?.waiting?.reason).find(Boolean) ?? phase };
}

/** What a member's pod should carry: the config hash, the credentials version and the image. */
export interface Expected {
  hash?: string;
  secretVersion?: string;
  image?: string;
}

/** Why a live pod is not what `want` says it should be, or undefined when it is. */
export function podDrift(pod: Pod, want: Expected): string | undefined {
  const annotations = pod.metadata.annotations ?? {};
  if (want.hash !== undefined && annotations[HASH_ANNOTATION] !== want.hash) return 'config changed';
  if (want.secretVersion !== undefined && annotations[SECRET_VERSION_ANNOTATION] !== want.secretVersion) return 'credentials changed';
  const image = want.image === undefined ? undefined : pod.spec?.containers?.find((c) => c.image !== want.image)?.image;
  return image ? `image is ${image}, not ${want.image}` : undefined;
}

/** The items of `kubectl get ... -o json` output. */
export function itemsOf<T = Pod>(json: string): T[] {
  return ((JSON.parse(json) as { items?: T[] }).items ?? []);
}

/** The last line kubectl printed on stderr, for error messages. */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

/**
 * What a kubectl failure means and what to do, from its stderr: bad credentials, no such
 * context, an unreadable kubeconfig, a cluster that does not answer or refuses.
 */
export function explainKubectl(d: Deployment, stderr: string): { what: string; fix: string } {
  const line = lastLine(stderr);
  const where = `context '${d.context}'`;
  const kubeconfig = process.env.KUBECONFIG || '~/.kube/config';
  if (/context was not found|no context exists with the name|context ".*" does not exist/i.test(stderr)) {
    return { what: `There is no ${where} in the kubeconfig (${kubeconfig})`, fix: `Create the cluster with \`kind create cluster --name ${kindCluster(d.context)}\` (or \`npm run kind:up\`), or set \`k8s.context\` in formation.yml to one of \`kubectl config get-contexts -o name\`.` };
  }
  if (/error loading config file|couldn't get version\/kind|yaml: |json: cannot unmarshal|invalid configuration/i.test(stderr)) {
    return { what: `The kubeconfig (${kubeconfig}) cannot be read (${line})`, fix: 'Fix or regenerate it (for kind: `kind export kubeconfig --name <cluster>`), then try again.' };
  }
  if (/Unauthorized|You must be logged in|\b401\b/.test(stderr)) {
    return { what: `The cluster of ${where} rejected the credentials (HTTP 401 Unauthorized)`, fix: 'Your kubeconfig\'s token or certificate is expired or wrong: refresh it (for kind: `kind export kubeconfig --name <cluster>`), then try again.' };
  }
  if (/forbidden|\b403\b/i.test(stderr)) {
    return { what: `The cluster of ${where} refused the request (HTTP 403 Forbidden: ${line})`, fix: 'Your user lacks RBAC rights on namespaces, Secrets, ConfigMaps and StatefulSets there: ask the cluster admin for them, or use another context.' };
  }
  if (/was refused|connection refused|no such host|connection reset/i.test(stderr)) {
    return {
      what: `Cannot reach the Kubernetes cluster of ${where} (${line})`,
      fix: `Create it with \`kind create cluster --name ${kindCluster(d.context)}\` (or \`npm run kind:up\`), load the member image with \`npm run kind:load\`, then try again.`,
    };
  }
  if (/context deadline exceeded|did not answer within|i\/o timeout|Client\.Timeout|TLS handshake timeout/.test(stderr)) {
    return { what: `The cluster of ${where} does not answer (${line})`, fix: `Check that it is running (\`docker ps\` for kind; a paused node: \`docker unpause ${kindCluster(d.context)}-control-plane\`), then try again.` };
  }
  return {
    what: `Cannot reach the Kubernetes cluster of ${where} (${line || 'kubectl failed'})`,
    fix: `Create it with \`kind create cluster --name ${kindCluster(d.context)}\` (or \`npm run kind:up\`), load the member image with \`npm run kind:load\`, then try again.`,
  };
}

/** The total deadline of one kubectl call, in ms: a hung server never holds a hat for long. */
export function kubectlDeadlineMs(): number {
  const ms = Number(process.env.BM_K8S_KUBECTL_DEADLINE_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 8000;
}
