/**
 * The team repo's webhook, set up through the API when the daemon is reachable from the
 * internet (`bm daemon start --tunnel URL` or `--public-url URL`), and its health for
 * `bm daemon status` (GitHub's `last_response` of the hook).
 *
 * Idempotent: a hook that already delivers to the URL with bm's events and JSON is left alone;
 * one that differs (or whose last delivery the daemon refused as wrongly signed: the secret,
 * which GitHub never sends back, differs) is updated, never duplicated. `hook.json` in the
 * daemon folder remembers which hook status should read; it holds no secret.
 */
import { schema, type Infer } from '../zod.ts';
import { writeFileAtomic } from '../files.ts';
import type { RepoHook } from '../github.ts';
import { readJson } from './files.ts';

/** Events only organisation (or App) hooks deliver; a repository hook cannot subscribe to them. */
const ORG_ONLY_EVENTS = new Set(['projects_v2', 'projects_v2_item', 'projects_v2_status_update', 'organization', 'membership', 'team']);

/** The events the team's repository hook subscribes to: the watched ones a repository hook can deliver. */
export function hookEvents(watched: ReadonlySet<string>): string[] {
  return [...watched].filter((e) => !ORG_ONLY_EVENTS.has(e)).sort();
}

/** What to do about the hook; `events` is what it should send (bm's, plus any others it sends already). */
export type HookPlan =
  | { action: 'create'; events: string[] }
  | { action: 'update'; hook: RepoHook; why: string[]; events: string[] }
  | { action: 'none'; hook: RepoHook };

/**
 * Compares the repository's hooks with the one bm wants at `url`. Events the hook sends beyond
 * bm's, and a `form` content type (the daemon accepts both), are the operator's choice and kept.
 */
export function planHook(hooks: readonly RepoHook[], url: string, events: readonly string[]): HookPlan {
  const hook = hooks.find((h) => h.url === url);
  if (!hook) return { action: 'create', events: [...events] };
  const why: string[] = [];
  const missing = events.filter((e) => !hook.events.includes(e) && !hook.events.includes('*'));
  if (missing.length) why.push(`it does not send ${missing.join(', ')}`);
  if (!hook.active) why.push('it is inactive');
  if (hook.lastResponse?.code === 401) why.push('the daemon refused its last delivery as wrongly signed (the secret differs)');
  return why.length ? { action: 'update', hook, why, events: [...new Set([...hook.events, ...events])].sort() } : { action: 'none', hook };
}

/** One line on GitHub's last delivery to the hook. */
export function lastDelivery(hook: RepoHook): { ok: boolean | null; text: string } {
  const last = hook.lastResponse;
  if (!last || last.code === null) return { ok: null, text: 'no delivery yet' };
  const ok = last.code >= 200 && last.code < 300;
  const detail = [last.message, last.status].filter(Boolean).join(', ');
  // GitHub records a delivery that found no server with code 0.
  return { ok, text: `${ok ? 'succeeded' : 'failed'} (${last.code ? `HTTP ${last.code}` : 'no connection'}${detail ? `: ${detail}` : ''})` };
}

const recordSchema = schema((z) => z.object({ repo: z.string(), id: z.number(), url: z.string() }));

/** What hook.json holds: the hook bm set up or found. */
export type HookRecord = Infer<typeof recordSchema>;

/** Reads hook.json; missing or unreadable is no hook. */
export function readHookRecord(file: string): HookRecord | undefined {
  return readJson(file, recordSchema);
}

export function writeHookRecord(file: string, record: HookRecord): void {
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, 0o600);
}
