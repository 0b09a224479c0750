/**
 * What the console's buttons do: start and stop members or the whole team, through the same
 * library functions as `bm start` and `bm stop`. Each action is written to the team's daemon
 * journal with `origin: "console"` (whether a daemon runs or not), so the operator can tell later
 * what was done from the browser.
 */
import { daemonPaths } from '../daemon/files.ts';
import { Journal, type JournalEntry } from '../daemon/journal.ts';
import { maxLogBytes } from '../daemon/log.ts';
import { startFormation, summary } from '../formations/index.ts';
import { resolveFormation } from '../lifecycle/formation.ts';
import { memberEnv, startLocal } from '../lifecycle/start.ts';
import { stopMembers } from '../lifecycle/stop.ts';
import { UsageError } from '../output.ts';
import { timings } from '../proc.ts';
import { requireKnownSchema } from '../schema.ts';
import { validateName } from '../names.ts';
import { readMember, type Team } from '../team.ts';
import { readTopology } from '../topology.ts';

/** What an action did, as the page shows it. */
export interface ActionResult {
  ok: boolean;
  /** One line per member or step, as `bm start`/`bm stop` print them. */
  lines: string[];
}

/** Appends one line to the team's journal, marked as coming from the console. */
export function journalAction(team: Team, entry: JournalEntry): void {
  const journal = new Journal(daemonPaths(team.name).journal, maxLogBytes());
  try {
    journal.add({ ...entry, origin: 'console' });
  } finally {
    journal.close();
  }
}

/** Checks the member names of a request: each valid and hired. */
export function requestedMembers(team: Team, raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((m) => typeof m !== 'string')) throw new UsageError('members must be a list of member names', 'Send {"members": ["dev-alice"]}, or no list for the whole team.');
  return (raw as string[]).map((m) => readMember(team, validateName('member', m)).name);
}

/** The formation the team runs on now (topology), else local. */
function currentFormation(team: Team): string | undefined {
  const topology = readTopology(team.paths.topology);
  return topology.kind === 'ok' ? topology.topology.formation : undefined;
}

/** Starts members (or the team) the way `bm start` does, and journals it. */
export async function startAction(team: Team, members: string[]): Promise<ActionResult> {
  const formation = resolveFormation(team, currentFormation(team));
  let result: ActionResult;
  if (formation.type !== 'local') {
    if (members.length > 0) throw new UsageError(`Formation '${formation.name}' deploys the whole team, not single members`, 'Start the whole team.');
    const deployed = await startFormation(team, formation, { yes: true });
    result = { ok: true, lines: [summary(formation, deployed) ?? `Formation '${formation.name}' deployed.`] };
  } else {
    requireKnownSchema(team.name, team.schemaVersion);
    const results = await startLocal(team, { members: members.length ? members : undefined, timings: timings(), formation: formation.name, tmux: team.entry.tmux === true });
    result = {
      ok: results.every((r) => r.status === 'started' || r.status === 'already-running'),
      lines: results.map((r) => `${r.key}: ${r.status.replace('-', ' ')}${r.pid ? ` (PID ${r.pid})` : ''}${r.detail ? `: ${r.detail}` : ''}`),
    };
  }
  journalAction(team, { type: 'action', action: 'start', members: members.length ? members : 'all', ok: result.ok });
  return result;
}

/** Stops members (or the team) the way `bm stop` does, and journals it. */
export async function stopAction(team: Team, members: string[], force: boolean): Promise<ActionResult> {
  const report = await stopMembers(team, { members: members.length ? members : undefined, force, timings: timings(), env: memberEnv(team.entry) });
  const live = report.rows.filter((r) => r.result.outcome !== 'not-running');
  const result: ActionResult = {
    ok: live.every((r) => r.result.outcome !== 'failed'),
    lines: live.length === 0 ? ['Nothing was running.'] : live.map((r) => `${r.key}: ${r.result.outcome}${r.result.detail ? ` (${r.result.detail})` : ''}`),
  };
  journalAction(team, { type: 'action', action: 'stop', members: members.length ? members : 'all', force, ok: result.ok });
  return result;
}
