/**
 * Which GitHub events wake the team.
 *
 * Names are webhook event names (`issues`, `issue_comment`, ...), configurable per team with
 * `daemon.events` in botminter.yml. The Events API (poll mode) names the same events
 * differently (`IssuesEvent`); `webhookName` maps them. Projects v2 item changes exist only as
 * webhooks (organisation or App hooks): the Events API never reports them.
 */
import type { TeamManifest } from '../schema.ts';

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

/** True when `event` (webhook name) with `action` should wake the team. */
export function isWakeEvent(events: ReadonlySet<string>, event: string, action?: string): boolean {
  const name = event.toLowerCase();
  if (!events.has(name)) return false;
  return !(action && QUIET_ACTIONS[name]?.includes(action));
}
