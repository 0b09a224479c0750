/**
 * Which GitHub events wake the team: the one place that decides, for webhook deliveries and
 * polled events alike.
 *
 * An event wakes the team when all of these hold, checked in this order:
 *
 * 1. It is a wake-up event: its name is in `daemon.events` of botminter.yml (default
 *    `DEFAULT_EVENTS`) and its action changes something a member acts on (`QUIET_ACTIONS`).
 * 2. It concerns the team: it names the team repo or a project's repository, or (for
 *    `projects_v2_item`) the team's own board by node id. An organisation hook delivers every
 *    repository's events, so this is what keeps other teams' work from waking this one. A team
 *    without GitHub coordinates (no `github_repo`) skips this check.
 * 3. Its sender is not the team's own identity (the token's login, which members act under),
 *    unless `SELF_RULES` says that action by it hands work on: new issues and pull requests,
 *    label changes and board Status changes do; comments, edits, pushes and reviews do not.
 *
 * Names are webhook event names (`issues`, `issue_comment`, ...). The Events API (poll mode)
 * names the same events differently (`IssuesEvent`); `webhookName` maps them. Projects v2 item
 * changes exist only as webhooks (organisation or App hooks) and board polling (board.ts).
 */
import type { TeamManifest } from '../schema.ts';
import { isGitHubLogin } from '../names.ts';

/** The events that wake a team when botminter.yml does not say otherwise. */
export const DEFAULT_EVENTS = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'projects_v2_item',
] as const;

/** Actions that change nothing a member acts on (webhook `action` field). */
const QUIET_ACTIONS: Record<string, readonly string[]> = {
  issues: ['pinned', 'unpinned', 'locked', 'unlocked', 'milestoned', 'demilestoned', 'typed', 'untyped'],
  issue_comment: ['deleted'],
  pull_request: ['locked', 'unlocked', 'milestoned', 'demilestoned', 'auto_merge_enabled', 'auto_merge_disabled', 'enqueued', 'dequeued'],
  pull_request_review: ['dismissed'],
  pull_request_review_comment: ['deleted'],
  projects_v2_item: ['deleted'],
};

/** One row of the table of what the team's own identity may wake the team with. */
export interface SelfRule {
  event: string;
  /** The actions by the team's identity that wake the team; every other action of the event does not. */
  wakes: readonly string[];
  why: string;
}

/**
 * What the team's own identity (its members) may wake the team with: the hand-offs from one
 * role to the next. Events not listed here wake nobody when the identity caused them.
 */
export const SELF_RULES: readonly SelfRule[] = [
  { event: 'issues', wakes: ['opened', 'labeled', 'unlabeled'], why: 'a new issue or a label change hands work to a role' },
  { event: 'pull_request', wakes: ['opened', 'ready_for_review', 'labeled', 'unlabeled'], why: 'a new pull request or a label change hands work to a reviewer' },
  { event: 'projects_v2_item', wakes: ['edited:Status'], why: 'a board Status change hands the item to the next role' },
  { event: 'issue_comment', wakes: [], why: 'comments: the member said it, it need not hear it' },
  { event: 'pull_request_review', wakes: [], why: 'reviews: written by a member, read by the pull request author through labels/Status' },
  { event: 'pull_request_review_comment', wakes: [], why: 'review comments: as comments' },
];

/** Where the team lives on GitHub; lower-case `owner/name` repos. */
export interface TeamCoordinates {
  /** The team repo and its projects' repositories; empty when the team has no GitHub repo. */
  repos: ReadonlySet<string>;
  /** The node id of the team's Projects v2 board, when known. */
  board: string | null;
  /** The node id of the board's Status field, when known (older payloads name the field only by id). */
  statusField?: string | null;
  /** The token's login: events it caused are the team's own. */
  identity: string | null;
}

/** Why an event was ignored (counted per reason in daemon.json). */
export type IgnoreReason = 'not-watched' | 'quiet-action' | 'foreign-repo' | 'foreign-board' | 'no-repo' | 'self';

/** What an event means for the team. */
export type Judgement =
  | { wake: true; self: boolean }
  | { wake: false; reason: IgnoreReason; detail: string };

/** The parts of an event the rules look at (from a webhook payload or an Events API entry). */
export interface EventFacts {
  event: string;
  action?: string;
  /** `owner/name` of the repository it names, if any. */
  repo?: string;
  /** For `projects_v2_item`: the board's node id. */
  board?: string;
  /** Who caused it (`sender.login`, or `actor.login` in the Events API). */
  sender?: string;
  /** For `projects_v2_item.edited`: the field that changed (name and/or node id). */
  field?: { name?: string; id?: string; type?: string };
}

/** The wake-up events of a team: botminter.yml `daemon.events`, else the defaults. */
export function wakeEvents(manifest: TeamManifest): Set<string> {
  const configured = manifest.daemon?.events;
  const names = configured && configured.length > 0 ? configured : DEFAULT_EVENTS;
  return new Set(names.map((n) => n.trim().toLowerCase()));
}

/** The webhook name of an Events API type (`PullRequestReviewCommentEvent` → `pull_request_review_comment`). */
export function webhookName(eventsApiType: string): string {
  return eventsApiType
    .replace(/Event$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** True when `event` (webhook name) with `action` is a wake-up event at all (rule 1 only). */
export function isWakeEvent(events: ReadonlySet<string>, event: string, action?: string): boolean {
  const name = event.toLowerCase();
  if (!events.has(name)) return false;
  return !(action && QUIET_ACTIONS[name]?.includes(action));
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const login = (value: unknown): string | undefined => (isGitHubLogin(value) ? value : undefined);
const field = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);

/** The facts of a webhook delivery. */
export function webhookFacts(event: string, payload: Record<string, unknown>): EventFacts {
  const change = field(field(payload.changes, 'field_value'), 'field_node_id') !== undefined ? field(payload.changes, 'field_value') : undefined;
  return {
    event,
    action: text(payload.action),
    repo: text(field(payload.repository, 'full_name')),
    board: text(field(payload.projects_v2_item, 'project_node_id')),
    sender: login(field(payload.sender, 'login')),
    ...(change ? { field: { name: text(field(change, 'field_name')), id: text(field(change, 'field_node_id')), type: text(field(change, 'field_type')) } } : {}),
  };
}

/** The facts of an Events API entry (poll mode). */
export function polledFacts(entry: { type: string; actor?: unknown; repo?: unknown; payload?: unknown }): EventFacts {
  return {
    event: webhookName(entry.type),
    action: text(field(entry.payload, 'action')),
    repo: text(field(entry.repo, 'name')),
    sender: login(field(entry.actor, 'login')),
  };
}

/** True when a `projects_v2_item.edited` change is to the board's Status field. */
function isStatusChange(facts: EventFacts, team: TeamCoordinates): boolean {
  const changed = facts.field;
  if (!changed) return false;
  if (changed.name !== undefined) return changed.name === 'Status';
  if (team.statusField && changed.id) return changed.id === team.statusField;
  // An older payload without the field's name, and the Status field's id unknown: a
  // single-select change is most likely the Status.
  return changed.type === 'single_select';
}

/** Decides whether an event wakes the team (see the module comment for the rules). */
export function judge(facts: EventFacts, events: ReadonlySet<string>, team: TeamCoordinates): Judgement {
  const name = facts.event.toLowerCase();
  if (!events.has(name)) return { wake: false, reason: 'not-watched', detail: `${name} events do not wake the team` };
  if (facts.action && QUIET_ACTIONS[name]?.includes(facts.action)) {
    return { wake: false, reason: 'quiet-action', detail: `${name}.${facts.action} changes nothing members act on` };
  }
  if (team.repos.size > 0) {
    if (name === 'projects_v2_item') {
      if (!team.board) return { wake: false, reason: 'foreign-board', detail: 'the team board\'s node id is unknown' };
      if (facts.board !== team.board) return { wake: false, reason: 'foreign-board', detail: `board ${facts.board ?? '(none)'} is not the team's` };
    } else if (!facts.repo) {
      return { wake: false, reason: 'no-repo', detail: 'the event names no repository' };
    } else if (!team.repos.has(facts.repo.toLowerCase())) {
      return { wake: false, reason: 'foreign-repo', detail: `repository ${facts.repo} is not the team's` };
    }
  }
  const self = Boolean(team.identity && facts.sender && facts.sender.toLowerCase() === team.identity.toLowerCase());
  if (!self) return { wake: true, self: false };
  const rule = SELF_RULES.find((r) => r.event === name);
  const action = name === 'projects_v2_item' && facts.action === 'edited' && isStatusChange(facts, team) ? 'edited:Status' : facts.action ?? '';
  if (rule?.wakes.includes(action)) return { wake: true, self: true };
  return { wake: false, reason: 'self', detail: `${name}${facts.action ? `.${facts.action}` : ''} by the team's own identity (${team.identity})` };
}

/** `owner/name` of a GitHub repository URL (https, ssh or scp-like), or undefined for other hosts. */
export function githubSlugOf(url: string): string | undefined {
  const match = /^(?:https?:\/\/(?:[^@/]+@)?github\.com\/|ssh:\/\/git@github\.com\/|git@github\.com:)([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return match ? `${match[1]}/${match[2]}`.toLowerCase() : undefined;
}

/** The team's repositories: its team repo and the GitHub repositories of its projects. */
export function teamRepos(githubRepo: string | undefined, manifest: TeamManifest): Set<string> {
  const repos = new Set<string>();
  if (!githubRepo) return repos;
  repos.add(githubRepo.toLowerCase());
  for (const project of manifest.projects ?? []) {
    const slug = githubSlugOf(project.fork_url);
    if (slug) repos.add(slug);
  }
  return repos;
}
