/**
 * The shapes of bm's files and the rules that guard them.
 *
 * - `readYaml` parses YAML defensively (size cap, alias cap, duplicate keys) and validates it
 *   against a zod schema, reporting `file:line:col path: problem`.
 * - zod schemas for the team manifest (`botminter.yml`), member manifests, operator config,
 *   formation.yml and topology.json.
 * - The profile's `.schema/<version>.yml` layout, read and enforced on a team repo.
 * - Schema version gates with the exact messages the CLI contract promises.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as z from 'zod/mini';
import { readAgentFile } from './files.ts';
import { cachedValue, rememberValue, stampOf, type Checked } from './parse-cache.ts';
import type { Document } from 'yaml';
import { yaml } from './yaml.ts';
import { schema as lazySchema, type Infer } from './zod.ts';
import { BmError } from './output.ts';

/** The schema version bm creates teams with. */
export const CURRENT_SCHEMA = 'v2';
export const KNOWN_SCHEMAS = ['v1', 'v2'] as const;

// Each schema is built on first use (lib/zod.ts), with zod loaded then: most runs check nothing.

// @speed-only-begin: a file unchanged since this build's schema accepted it is not checked again.
const schemaNames = new WeakMap<object, string>();

/** Gives a schema the name its verdicts on files are remembered under (lib/parse-cache.ts). */
function named<T extends object>(name: string, schema: T): T {
  schemaNames.set(schema, name);
  return schema;
}
// @speed-only-end


/** Team manifest `botminter.yml` (the profile's manifest, copied into the team repo). */
export const teamManifestSchema = named('team-manifest', lazySchema((z) => {
  const entry = z.looseObject({ name: z.string(), description: z.optional(z.string()) });
  return z.looseObject({
    name: z.string(),
    display_name: z.optional(z.string()),
    description: z.optional(z.string()),
    version: z.optional(z.string()),
    schema_version: z.optional(z.string()),
    roles: z.optional(z.array(entry)),
    labels: z.optional(z.array(z.looseObject({ name: z.string(), color: z.string(), description: z.optional(z.string()) }))),
    statuses: z.optional(z.array(entry)),
    views: z.optional(z.array(z.looseObject({ name: z.string(), prefixes: z.optional(z.array(z.string())), also_include: z.optional(z.array(z.string())) }))),
    projects: z.optional(z.nullable(z.array(z.looseObject({ name: z.string(), fork_url: z.string() })))),
    daemon: z.optional(z.looseObject({ events: z.optional(z.array(z.string())) })),
    human_gates: z.optional(z.nullable(z.array(z.looseObject({
      name: z.string(),
      status: z.string(),
      approve: z.string(),
      reject: z.string(),
      description: z.optional(z.string()),
      enabled: z.optional(z.boolean()),
    })))),
  });
}));
export type TeamManifest = Infer<typeof teamManifestSchema>;

/** A member's `botminter.yml` (role manifest plus the member's name once hired). */
export const memberManifestSchema = named('member-manifest', lazySchema((z) => z.looseObject({
  role: z.string(),
  name: z.optional(z.string()),
  description: z.optional(z.string()),
  comment_emoji: z.optional(z.string()),
})));
export type MemberManifest = Infer<typeof memberManifestSchema>;

/** A team entry in the operator config. */
export const teamEntrySchema = lazySchema((z) => z.looseObject({
  name: z.string(),
  path: z.string(),
  profile: z.string(),
  github_repo: z.optional(z.string()),
  remote: z.optional(z.string()),
  credentials: z.optional(z.looseObject({
    gh_token: z.optional(z.string()),
    webhook_secret: z.optional(z.string()),
    telegram_bot_token: z.optional(z.string()),
    /** The notification webhook (lib/notify.ts): a Slack or Discord URL is itself a secret. */
    notify_webhook: z.optional(z.string()),
    /** The members' Claude credential, when the operator keeps it here rather than in the environment. */
    anthropic_api_key: z.optional(z.string()),
    claude_code_oauth_token: z.optional(z.string()),
  })),
  /** The daemon's other notification settings (lib/notify.ts). */
  notify: z.optional(z.looseObject({ desktop: z.optional(z.boolean()) })),
  /** `bm start` runs members in tmux windows by default (lib/tmux.ts; `bm teams tmux`). */
  tmux: z.optional(z.boolean()),
}));
export type TeamEntry = Infer<typeof teamEntrySchema>;

/** Operator config `BM_HOME/config.yml`. */
export const operatorConfigSchema = lazySchema((z) => z.looseObject({
  workzone: z.optional(z.string()),
  default_team: z.optional(z.nullable(z.string())),
  teams: z.optional(z.nullable(z.array(teamEntrySchema()))),
}));
export type OperatorConfig = Infer<typeof operatorConfigSchema>;

/** `formations/<name>/formation.yml`. */
export const formationSchema = named('formation', lazySchema((z) => z.looseObject({
  name: z.string(),
  description: z.optional(z.string()),
  type: z.string(),
  k8s: z.optional(z.looseObject({
    context: z.optional(z.string()),
    image: z.optional(z.string()),
    namespace_prefix: z.optional(z.string()),
    resources: z.optional(z.looseObject({ requests: z.optional(z.record(z.string(), z.union([z.string(), z.number()]))), limits: z.optional(z.record(z.string(), z.union([z.string(), z.number()]))) })),
  })),
  manager: z.optional(z.looseObject({
    runner: z.optional(z.enum(['ralph', 'script'])),
    ralph_yml: z.optional(z.string()),
    prompt: z.optional(z.string()),
    hats_dir: z.optional(z.string()),
    scripts: z.optional(z.array(z.string())),
  })),
})));
export type Formation = Infer<typeof formationSchema>;

/** A structured endpoint: where one member runs. */
export const endpointSchema = lazySchema((z) => z.discriminatedUnion('type', [
  z.object({ type: z.literal('local'), pid: z.number(), started: z.optional(z.string()), workspace: z.string() }),
  z.object({ type: z.literal('k8s'), context: z.string(), namespace: z.string(), pod: z.string(), container: z.string(), statefulset: z.optional(z.string()) }),
]));
export type Endpoint = Infer<typeof endpointSchema>;

/** `{team dir}/topology.json`, written by start and read by status and stop. */
export const topologySchema = lazySchema((z) => z.looseObject({
  formation: z.string(),
  created_at: z.string(),
  // config_hash, secret_version, image: what was deployed there (k8s), which status compares with the live objects.
  members: z.record(z.string(), z.looseObject({ status: z.optional(z.string()), endpoint: endpointSchema(), config_hash: z.optional(z.unknown()), secret_version: z.optional(z.unknown()), image: z.optional(z.unknown()) })),
}));
export type Topology = Infer<typeof topologySchema>;

/** A parsed YAML file: the plain value plus the Document, which keeps comments for editing. */
export interface YamlFile<T> {
  value: T;
  doc: Document;
}

/**
 * Reads and validates a YAML file. Errors name the file, line and column; aliases are capped so
 * an alias bomb fails fast instead of exhausting memory.
 *
 * Values come from the parse cache (lib/parse-cache.ts) when the file's text is unchanged; the
 * Document is then parsed only if a caller asks for it. For team and profile files only: files
 * that hold secrets (the operator config, a kubeconfig) use `parseYaml`, never the cache.
 */
export function readYaml<T>(file: string, schema: () => z.ZodMiniType<T>): YamlFile<T> {
  // Team repo files are untrusted: never read through a symlink or from a FIFO.
  const text = readAgentFile(file);
  if (text === undefined) throw new BmError(`${file} does not exist`);
  // @speed-only-begin: the parse cache's lookup and store (lib/parse-cache.ts)
  const cached = cachedValue(file, text);
  const stamp = stampOf(schemaNames.get(schema));
  const verdict = (value: T): Checked | undefined => (stamp ? { by: stamp, value } : undefined);
  if (stamp && cached?.checked?.by === stamp) return withLazyDoc(cached.checked.value as T, text, file, schema);
  const result = cached && schema().safeParse(cached.value ?? {});
  if (cached && result?.success) {
    if (stamp) rememberValue(file, text, cached.value, verdict(result.data));
    return withLazyDoc(result.data, text, file, schema);
  }
  // No entry, or one this schema rejects: parse for real, for an error with its line number.
  const parsed = parseYaml(text, file, schema);
  rememberValue(file, text, parsed.plain, verdict(parsed.value));
  // @speed-only-end
  return parsed;
}

/** A cached value with its Document, which is parsed only if a caller asks for it (to edit the file). */
function withLazyDoc<T>(value: T, text: string, file: string, schema: () => z.ZodMiniType<T>): YamlFile<T> {
  let doc: Document | undefined;
  return { value, get doc() { return (doc ??= parseYaml(text, file, schema).doc); } };
}

/**
 * Parses YAML text as `readYaml` does, without the cache; `file` is used in messages. `plain` is
 * the value before validation, as the parse cache keeps it.
 */
export function parseYaml<T>(text: string, file: string, schema: () => z.ZodMiniType<T>): YamlFile<T> & { plain: unknown } {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const pos = first.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new BmError(`${where}: ${first.message.split('\n')[0]}`, `Fix the YAML in ${path.basename(file)}.`);
  }
  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new BmError(`${file}: ${(error as Error).message}`, `Remove the YAML aliases from ${path.basename(file)}.`);
  }
  const result = schema().safeParse(plain ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    const at = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    throw new BmError(`${where}: ${at}: ${describeIssue(issue)}`, `Fix ${path.basename(file)}.`);
  }
  return { value: result.data, doc, plain };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') return 'does not match any allowed shape';
  return issue.message;
}

/** The directories and files a team of one schema version must have (`.schema/<v>.yml`). */
export const layoutSchema = named('layout', lazySchema((z) => z.object({
  name: z.string(),
  team: z.object({ files: z.array(z.string()), dirs: z.array(z.string()) }),
  member: z.object({ files: z.array(z.string()), dirs: z.array(z.string()) }),
  project: z.optional(z.object({ dirs: z.array(z.string()) })),
})));
export type Layout = Infer<typeof layoutSchema>;

/** Reads a profile's `.schema/<version>.yml`. */
export function readLayout(profileDir: string, version: string): Layout {
  const file = path.join(profileDir, '.schema', `${version}.yml`);
  if (!existsSync(file)) throw new BmError(`Profile at ${profileDir} has no layout for schema ${version}`, 'Is the profile complete?');
  return readYaml(file, layoutSchema).value;
}

/** Lists what a team repo lacks compared to a layout: paths relative to the repo. */
export function missingFromLayout(teamRepo: string, layout: Layout, members: readonly string[] = []): string[] {
  const missing: string[] = [];
  const check = (rel: string, kind: 'file' | 'dir') => {
    const full = path.join(teamRepo, rel);
    const ok = existsSync(full) && (kind === 'dir' ? statSync(full).isDirectory() : statSync(full).isFile());
    if (!ok) missing.push(kind === 'dir' ? `${rel}/` : rel);
  };
  for (const f of layout.team.files) check(f, 'file');
  for (const d of layout.team.dirs) check(d, 'dir');
  for (const m of members) {
    for (const f of layout.member.files) check(path.join('members', m, f), 'file');
    for (const d of layout.member.dirs) check(path.join('members', m, d), 'dir');
  }
  return missing;
}

/** Fails unless the team uses schema v2: the gate for knowledge, daemon and non-local formations. */
export function requireSchemaV2(team: string, schemaVersion: string | undefined): void {
  if (schemaVersion === CURRENT_SCHEMA) return;
  throw new BmError(
    `This feature requires schema v2, but team '${team}' uses schema ${schemaVersion || '(none)'}.\n` +
      'Run `bm upgrade` to migrate the team, or re-init with a v2 profile',
  );
}

/** Fails when the team's schema is unknown to this bm (too new, or garbage). */
export function requireKnownSchema(team: string, schemaVersion: string | undefined): void {
  if (schemaVersion && (KNOWN_SCHEMAS as readonly string[]).includes(schemaVersion)) return;
  throw new BmError(
    `Team '${team}' uses schema ${schemaVersion || '(none)'}, which this version of bm does not know (it knows ${KNOWN_SCHEMAS.join(', ')})`,
    'Upgrade bm, or fix `schema_version` in the team repo\'s botminter.yml.',
  );
}
