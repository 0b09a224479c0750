/**
 * Formation-aware status: every member slot with its live state.
 *
 * Records come from topology.json (or state.json when the topology is missing or corrupt, with
 * a warning), plus state entries the topology does not list. Each recorded endpoint gets a live
 * health check through lib/endpoints. A recorded member that is no longer running is `crashed`:
 * reported once, then dropped from state.json and topology.json, so the next look says
 * `stopped`.
 *
 * What no record knows is reported as warnings with the command that removes it: member
 * processes working in the team's workspaces, and pods carrying the team's labels (clusters.ts).
 */
import path from 'node:path';
import { describeEndpoint, health, type Deployed, type Endpoint } from '../endpoints/index.ts';
import { rotateIfOver } from '../files.ts';
import { endGroup, isOurs, run, timings, which } from '../proc.ts';
import { readState, stateKey, teamEntries, updateState } from '../state.ts';
import type { Team } from '../team.ts';
import { readTopology, updateTopology } from '../topology.ts';
import { memberProcessesUnder, type MemberProcess } from '../tree.ts';
import { activityOf, stallMinutes, type Activity } from './activity.ts';
import { unrecordedPods, unrecordedWarning } from './clusters.ts';
import { daemonInfo, type DaemonInfo } from './daemon.ts';
import { memberOfKey, slotsOf } from './slots.ts';

/** The status values of the CLI contract. */
export type MemberState = 'running' | 'stopped' | 'crashed' | 'error' | 'unknown';

/** One row of `bm status`. */
export interface MemberStatus {
  /** Member name (`dev-alice`). */
  name: string;
  /** Slot key: the name, or `<name>/<project>` on a multi-project team. */
  key: string;
  project: string | null;
  role: string;
  status: MemberState;
  endpoint: Endpoint | null;
  startedAt: string | null;
  workspace: string | null;
  log: string | null;
  detail?: string;
  /** What a running local member is doing (issue, hat, last output, stalled); null otherwise. */
  activity: Activity | null;
}

/** The whole `bm status` answer (DESIGN §6 shape plus extra fields). */
export interface TeamStatus {
  team: string;
  profile: string;
  formation: string | null;
  daemon: DaemonInfo;
  members: MemberStatus[];
  warnings: string[];
}

interface Recorded {
  endpoint: Endpoint;
  startedAt: string | null;
  /** What the topology says was deployed there. */
  deployed?: Deployed;
}

function recordsOf(team: Team, warnings: string[]): { formation: string | null; records: Map<string, Recorded> } {
  const records = new Map<string, Recorded>();
  const topology = readTopology(team.paths.topology);
  let formation: string | null = null;
  if (topology.kind === 'corrupt') {
    warnings.push(`${team.paths.topology} is unreadable (${topology.reason}); showing state.json instead.`);
  } else if (topology.kind === 'ok') {
    formation = topology.topology.formation;
    for (const [key, member] of Object.entries(topology.topology.members)) {
      records.set(key, { endpoint: member.endpoint, startedAt: typeof member.started_at === 'string' ? member.started_at : null, deployed: member });
    }
  }
  for (const [key, entry] of teamEntries(readState(), team.name)) {
    if (records.has(key)) continue;
    records.set(key, { endpoint: { type: 'local', pid: entry.pid, started: entry.started, workspace: entry.workspace }, startedAt: entry.started_at || null });
  }
  return { formation, records };
}

/**
 * Ends what a crashed member left behind in its process group, then drops it from state and
 * topology, so each crash is reported once.
 */
async function forgetCrashed(team: Team, crashed: MemberStatus[]): Promise<void> {
  if (crashed.length === 0) return;
  const graceMs = timings().stopKillMs;
  await Promise.all(crashed.map(async (row) => {
    if (row.endpoint?.type === 'local' && row.endpoint.started) await endGroup(row.endpoint.pid, row.endpoint.started, graceMs);
  }));
  updateState((state) => {
    for (const row of crashed) {
      const key = stateKey(team.name, row.key);
      const entry = state.members[key];
      if (entry && !isOurs(entry.pid, entry.started)) delete state.members[key];
    }
  });
  updateTopology(team.paths.topology, (current) => {
    if (!current) return undefined;
    const members = { ...current.members };
    for (const row of crashed) delete members[row.key];
    return { ...current, members };
  });
}

/**
 * Computes the team's status; with `clean` (the default) crashed members are forgotten afterwards.
 * A running member counts as stalled after `stallMinutes` without output (default: lib/lifecycle/activity.ts).
 */
export async function teamStatus(team: Team, { clean = true, stallMinutes: quiet = stallMinutes() } = {}): Promise<TeamStatus> {
  const warnings: string[] = [];
  const { formation, records } = recordsOf(team, warnings);
  // Sent first: the look for pods no record knows overlaps the health checks.
  const sweeping = unrecordedPods(team, [...records.values()].map((r) => r.endpoint));
  const slots = slotsOf(team);
  // A member that runs for days writes its log the whole time: status is where it gets rotated.
  for (const slot of slots) rotateIfOver(slot.log);
  const keys = [...new Set([...slots.map((s) => s.key), ...records.keys()])].sort();
  const checking = Promise.all(keys.map(async (key): Promise<MemberStatus> => {
    const slot = slots.find((s) => s.key === key);
    const record = records.get(key);
    const name = slot?.member ?? memberOfKey(key);
    const row: MemberStatus = {
      name,
      key,
      project: slot?.project ?? (key.includes('/') ? key.split('/')[1] : null),
      role: slot?.role ?? name.split('-')[0],
      status: 'stopped',
      endpoint: null,
      startedAt: null,
      workspace: slot?.workspace ?? (record?.endpoint.type === 'local' ? record.endpoint.workspace : null),
      log: slot?.log ?? null,
      activity: null,
    };
    if (!record) return row;
    const live = await health(record.endpoint, record.deployed);
    const status = live.status === 'stopped' ? 'crashed' : live.status;
    const activity = status === 'running' && record.endpoint.type === 'local' ? activityOf(record.endpoint.workspace, row.log, Date.now(), quiet) : null;
    return { ...row, status, endpoint: record.endpoint, startedAt: record.startedAt, ...(live.detail ? { detail: live.detail } : {}), activity };
  }));
  // While a cluster answers, what does not depend on the members' health: the daemon, and the
  // team's processes when no member runs locally (else a crashed one's leftovers are ended first).
  const daemon = daemonInfo(team.name);
  const processes = [...records.values()].some((r) => r.endpoint.type === 'local') ? undefined : memberProcessesUnder(team.paths.dir, team.name);
  const members = await checking;
  const unreachable = members.filter((m) => m.status === 'unknown');
  if (unreachable.length > 0 && formation) warnings.push(`Could not reach ${formation} target. Showing cached topology.`);
  if (clean) await forgetCrashed(team, members.filter((m) => m.status === 'crashed'));
  warnings.push(...unrecorded(team, members, processes));
  const sweep = await sweeping;
  warnings.push(...sweep.pods.map((pod) => unrecordedWarning(team, pod)));
  // A recorded context that does not answer has its warning above already.
  const recorded = new Set([...records.values()].flatMap((r) => (r.endpoint.type === 'k8s' ? [r.endpoint.context] : [])));
  for (const f of sweep.failed.filter((f) => !recorded.has(f.context))) warnings.push(`Could not look for pods of team '${team.name}' in context ${f.context} (${f.reason}). If that cluster is gone for good, remove the context from ${path.join(team.paths.dir, 'clusters.json')}.`);
  return { team: team.name, profile: team.entry.profile, formation, daemon, members, warnings };
}

/**
 * Warnings for the team's member processes (`processes`, default: a look now) that no running
 * record accounts for: escaped from the group of a member that is no longer running, or never
 * recorded (a lost state file).
 */
function unrecorded(team: Team, members: MemberStatus[], processes?: MemberProcess[]): string[] {
  const running = members.filter((m) => m.status === 'running');
  const leaders = new Set(running.flatMap((m) => (m.endpoint?.type === 'local' ? [m.endpoint.pid] : [])));
  const keys = new Set(running.map((m) => m.key));
  const strays = (processes ?? memberProcessesUnder(team.paths.dir, team.name, leaders)).filter((p) => !leaders.has(p.pgid) && !keys.has(p.key));
  return strays.map((p) => `${p.key}: process ${p.pid} (${p.command || 'unknown command'}) is working in ${p.cwd} but bm has no record of it running; \`bm stop ${memberOfKey(p.key)} -t ${team.name}\` ends it.`);
}

/** A short endpoint label for the table, `—` when there is none. */
export function endpointLabel(row: MemberStatus): string {
  return row.endpoint ? describeEndpoint(row.endpoint) : '—';
}

/** The read-only ralph commands `bm status -v` shows for each running member. */
export const VERBOSE_COMMANDS: readonly (readonly string[])[] = [['loops', 'list'], ['hats'], ['events', '--last', '5']];

/** One `-v` section: the command and its output. */
export interface VerboseSection {
  command: string;
  output: string;
}

/**
 * Runs the `-v` commands in a running member's workspace, in parallel. A command that fails,
 * times out or prints nothing is left out quietly.
 */
export async function verboseDetails(workspace: string, env: NodeJS.ProcessEnv): Promise<VerboseSection[]> {
  const ralph = which('ralph', env);
  if (!ralph) return [];
  const sections = await Promise.all(VERBOSE_COMMANDS.map(async (args) => {
    try {
      const result = await run(ralph, args, { cwd: workspace, env, timeoutMs: 10_000 });
      const output = result.stdout.trimEnd();
      return result.code === 0 && output ? { command: `ralph ${args.join(' ')}`, output } : undefined;
    } catch {
      return undefined;
    }
  }));
  return sections.filter((s): s is VerboseSection => s !== undefined);
}
