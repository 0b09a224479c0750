/**
 * The expected wake/ignore table for every recorded payload of `@octokit/webhooks-examples`,
 * written out here independently of lib/daemon/events.ts so that a change to the rules fails a
 * test: each payload is tried as the team's (its repository or board replaced by the team's),
 * as the team's but sent by the team's own identity, and as it was recorded (a foreign
 * repository or board, which never wakes).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './sandbox.ts';

/** Events a team watches by default, and their actions that wake nobody. */
const WATCHED: Record<string, string[]> = {
  issues: ['pinned', 'unpinned', 'locked', 'unlocked', 'milestoned', 'demilestoned', 'typed', 'untyped'],
  issue_comment: ['deleted'],
  pull_request: ['locked', 'unlocked', 'milestoned', 'demilestoned', 'auto_merge_enabled', 'auto_merge_disabled', 'enqueued', 'dequeued'],
  pull_request_review: ['dismissed'],
  pull_request_review_comment: ['deleted'],
  projects_v2_item: ['deleted'],
};

/** What the team's own identity wakes the team with (the recorded `edited` becomes a Status change). */
const SELF_WAKES = new Set(['issues.opened', 'issues.labeled', 'issues.unlabeled', 'pull_request.opened', 'pull_request.ready_for_review',
  'pull_request.labeled', 'pull_request.unlabeled', 'projects_v2_item.edited']);

/** One payload in one of its three variants, with the expected outcome. */
export interface Case {
  event: string;
  action: string | undefined;
  variant: 'team' | 'team-self' | 'foreign';
  payload: Record<string, unknown>;
  wakes: boolean;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * Every recorded payload in its three variants, for team repo `repo`, board `board` (whose
 * Status field is `statusField`: a recorded field change becomes a change of it) and identity
 * `identity`.
 */
export function wakeCases(repo: string, board: { id: string; statusField: string }, identity: string): Case[] {
  const definitions = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8')) as { name: string; examples: Record<string, unknown>[] }[];
  const cases: Case[] = [];
  for (const { name, examples } of definitions) {
    for (const example of examples) {
      const action = typeof example.action === 'string' ? example.action : undefined;
      const team = clone(example);
      const hasRepo = Boolean(team.repository);
      if (team.repository) (team.repository as Record<string, unknown>).full_name = repo;
      if (team.projects_v2_item) (team.projects_v2_item as Record<string, unknown>).project_node_id = board.id;
      const change = (team.changes as { field_value?: Record<string, unknown> } | undefined)?.field_value;
      if (change?.field_node_id) change.field_node_id = board.statusField;
      const aboutTeam = hasRepo || name === 'projects_v2_item';
      const watched = name in WATCHED && !(action && WATCHED[name].includes(action)) && aboutTeam;
      const self = clone(team);
      self.sender = { ...(self.sender as Record<string, unknown> | undefined), login: identity };
      cases.push(
        { event: name, action, variant: 'team', payload: team, wakes: watched },
        { event: name, action, variant: 'team-self', payload: self, wakes: watched && SELF_WAKES.has(`${name}.${action}`) },
        { event: name, action, variant: 'foreign', payload: example, wakes: false },
      );
    }
  }
  return cases;
}
