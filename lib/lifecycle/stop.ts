/**
 * Stopping members: every endpoint from topology.json (falling back to state.json when the
 * topology is missing or corrupt), and every pod of the team no record knows (clusters.ts), all
 * signalled at once, then their state entries and the topology removed.
 */
import { stopEndpoint, type Endpoint, type StopResult } from '../endpoints/index.ts';
import { endProcesses, type Ended, type Timings } from '../proc.ts';
import { readState, stateKey, teamEntries, updateState } from '../state.ts';
import { recordStop } from '../daemon/holds.ts';
import { memberNames, type Team } from '../team.ts';
import { endTmuxServer } from '../tmux.ts';
import { readTopology, updateTopology } from '../topology.ts';
import { memberProcessesUnder, type MemberProcess } from '../tree.ts';
import { forgetContexts, unrecordedPods } from './clusters.ts';
import { memberOfKey } from './slots.ts';

/** One endpoint to stop. */
export interface StopTarget {
  key: string;
  member: string;
  endpoint: Endpoint;
  /** A pod of the team that no record knows (clusters.ts). */
  unrecorded?: boolean;
}

/** A stopped (or not) endpoint. */
export interface StopRow extends StopTarget {
  result: StopResult;
  ms: number;
}

/** Options of `stopMembers`. */
export interface StopMembersOptions {
  /** Member names (or member/project keys) to stop; default: all. */
  members?: readonly string[];
  force: boolean;
  timings: Timings;
  env: NodeJS.ProcessEnv;
  /** Called with each warning (e.g. a corrupt topology) before anything is stopped. */
  onWarning?: (message: string) => void;
  /** Called as soon as each endpoint is done. */
  onResult?: (row: StopRow) => void;
  /** Called for each member whose unrecorded processes were ended. */
  onStray?: (row: StrayRow) => void;
}

/** Member processes no record led to (escaped from their group, or their record was lost), ended. */
export interface StrayRow {
  key: string;
  member: string;
  processes: MemberProcess[];
  result: Ended;
}

/** What `stopMembers` did. */
export interface StopReport {
  rows: StopRow[];
  strays: StrayRow[];
  warnings: string[];
}

function endpointId(endpoint: Endpoint): string {
  return endpoint.type === 'local' ? `local:${endpoint.pid}:${endpoint.started ?? ''}` : `${endpoint.type}:${JSON.stringify(endpoint)}`;
}

/** The endpoints of a team: topology first, then state entries the topology does not list. */
export function stopTargets(team: Team, warnings: string[]): StopTarget[] {
  const targets = new Map<string, StopTarget>();
  const topology = readTopology(team.paths.topology);
  if (topology.kind === 'corrupt') warnings.push(`${team.paths.topology} is unreadable (${topology.reason}); using state.json instead.`);
  if (topology.kind === 'ok') {
    for (const [key, record] of Object.entries(topology.topology.members)) {
      targets.set(endpointId(record.endpoint), { key, member: typeof record.member === 'string' ? record.member : memberOfKey(key), endpoint: record.endpoint });
    }
  }
  for (const [key, entry] of teamEntries(readState(), team.name)) {
    const endpoint: Endpoint = { type: 'local', pid: entry.pid, started: entry.started, workspace: entry.workspace };
    if (!targets.has(endpointId(endpoint))) targets.set(endpointId(endpoint), { key, member: entry.member, endpoint });
  }
  return [...targets.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function wanted(target: { key: string; member: string }, members: readonly string[] | undefined): boolean {
  return !members || members.some((m) => m === target.member || m === target.key);
}

/**
 * Stops the team's members (or the named ones) in parallel. Stopped members leave state.json;
 * the topology loses them too and is removed once nothing in it is left running. A member that
 * could not be stopped keeps its entries, so a retry (`bm stop -f`) still finds it.
 */
export async function stopMembers(team: Team, options: StopMembersOptions): Promise<StopReport> {
  const warnings: string[] = [];
  // First, so that the daemon sees its runs end by the operator's hand, not as failures.
  recordStop(team.name, options.members ?? memberNames(team));
  const recorded = stopTargets(team, warnings);
  const sweep = await unrecordedPods(team, recorded.map((t) => t.endpoint));
  for (const f of sweep.failed) warnings.push(`Could not look for pods of team '${team.name}' in context ${f.context} (${f.reason}); run \`bm stop\` again once it answers.`);
  const strayPods = sweep.pods.map((p): StopTarget => ({ key: p.member, member: p.member, endpoint: p.endpoint, unrecorded: true }));
  const targets = [...recorded, ...strayPods].filter((t) => wanted(t, options.members));
  for (const w of warnings) options.onWarning?.(w);
  const rows = await Promise.all(targets.map(async (target): Promise<StopRow> => {
    const began = Date.now();
    const result = await stopEndpoint(target.endpoint, { force: options.force, timings: options.timings, env: options.env });
    const row = { ...target, result, ms: Date.now() - began };
    options.onResult?.(row);
    return row;
  }));

  const strays = await endStrays(team, options);

  const failedKeys = new Set(rows.filter((r) => r.result.outcome === 'failed').map((r) => r.key));
  const done = rows.filter((r) => !failedKeys.has(r.key) && !r.unrecorded);
  if (!options.members) {
    // Nothing of the team is left in a context that answered and where every pod went.
    const stuck = new Set(rows.flatMap((r) => (r.result.outcome === 'failed' && r.endpoint.type === 'k8s' ? [r.endpoint.context] : [])));
    forgetContexts(team, sweep.looked.filter((c) => !stuck.has(c)));
  }
  updateState((state) => {
    for (const row of done) {
      const key = stateKey(team.name, row.key);
      const entry = state.members[key];
      if (entry && (row.endpoint.type !== 'local' || entry.pid === row.endpoint.pid)) delete state.members[key];
    }
  });
  // The team's tmux server goes with its last member in it (lib/tmux.ts).
  if (![...teamEntries(readState(), team.name).values()].some((e) => e.tmux)) await endTmuxServer(team.name, options.timings.stopKillMs, options.env);
  updateTopology(team.paths.topology, (current) => {
    // A corrupt topology is useless after a stop: remove it along with a complete one.
    if (!current || !options.members) {
      if (failedKeys.size === 0 || !current) return null;
      const kept = Object.fromEntries(Object.entries(current.members).filter(([key]) => failedKeys.has(key)));
      return { ...current, members: kept };
    }
    const members = Object.fromEntries(Object.entries(current.members).filter(([key, record]) => {
      const target = { key, member: typeof record.member === 'string' ? record.member : memberOfKey(key), endpoint: record.endpoint };
      return failedKeys.has(key) || !wanted(target, options.members);
    }));
    return Object.keys(members).length === 0 ? null : { ...current, members };
  });
  return { rows, strays, warnings };
}

/**
 * Ends the wanted members' processes still working in the team's workspaces once every recorded
 * endpoint is stopped: they escaped their group, or nothing recorded them.
 */
async function endStrays(team: Team, options: StopMembersOptions): Promise<StrayRow[]> {
  const byKey = new Map<string, MemberProcess[]>();
  for (const p of memberProcessesUnder(team.paths.dir, team.name)) {
    if (!wanted({ key: p.key, member: memberOfKey(p.key) }, options.members)) continue;
    byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  }
  const rows = await Promise.all([...byKey].map(async ([key, processes]): Promise<StrayRow> => {
    const row = { key, member: memberOfKey(key), processes, result: await endProcesses(processes, options.timings.stopKillMs) };
    options.onStray?.(row);
    return row;
  }));
  return rows.sort((a, b) => a.key.localeCompare(b.key));
}
