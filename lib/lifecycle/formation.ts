/**
 * Which formation `bm start` deploys to. `local` (the default) is run by bm itself; any other
 * formation (a schema-v2 feature) is deployed by its formation manager (lib/formations/).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { acceptNames, validateName } from '../names.ts';
import { BmError } from '../output.ts';
import { subdirs } from '../profiles.ts';
import { formationSchema, readYaml, requireSchemaV2, type Formation } from '../schema.ts';
import { isOurs } from '../proc.ts';
import { readState, teamEntries } from '../state.ts';
import type { Team } from '../team.ts';
import { readTopology } from '../topology.ts';

/** A resolved formation. */
export interface ResolvedFormation {
  name: string;
  type: string;
  /** The formation's directory in the team repo. */
  dir: string;
  /** formation.yml, when the team repo has one (always, for a non-local formation). */
  config?: Formation;
}

function readFormation(team: Team, name: string): Formation | undefined {
  const file = path.join(team.paths.formation(name), 'formation.yml');
  return existsSync(file) ? readYaml(file, formationSchema).value : undefined;
}

/** Resolves `--formation` (default `local`) against the team repo's `formations/`. */
export function resolveFormation(team: Team, flag: string | undefined): ResolvedFormation {
  if (flag === undefined || flag === 'local') {
    const config = readFormation(team, 'local');
    if (config && config.type !== 'local') {
      throw new BmError(`formations/local/formation.yml says type '${config.type}'`, 'The local formation must have `type: local`; fix the file in the team repo.');
    }
    return { name: 'local', type: 'local', dir: team.paths.formation('local'), ...(config ? { config } : {}) };
  }
  // The schema gate comes first, so a v1 team hears "requires schema v2", not a lookup error.
  requireSchemaV2(team.name, team.schemaVersion);
  validateName('formation', flag);
  const config = readFormation(team, flag);
  if (!config) {
    const known = acceptNames('formation', subdirs(team.paths.formations), team.paths.formations).filter((f) => existsSync(path.join(team.paths.formations, f, 'formation.yml')));
    throw new BmError(
      `Formation '${flag}' not found in team repo`,
      known.length ? `Available formations: ${known.join(', ')}.` : 'No formations directory exists; `bm start` without --formation runs members locally.',
    );
  }
  const dir = team.paths.formation(flag);
  if (config.type === 'local') return { name: flag, type: 'local', dir, config };
  if (!config.manager) {
    throw new BmError(`Formation '${flag}' has no manager configuration`, `Add a \`manager:\` section to ${path.join(dir, 'formation.yml')} (see bm's formations/k8s/formation.yml).`);
  }
  return { name: flag, type: config.type, dir, config };
}

/** Where a team's members run now. */
export interface ActiveFormation {
  name: string;
  /** Members recorded there. */
  members: number;
}

/**
 * The team's one active formation, from its record: topology.json when it lists members (a
 * local one only while one of them still runs), else members `bm start` runs according to
 * state.json. Undefined when nothing runs. Daemon runs are not a formation: they come and go.
 */
export function activeFormation(team: Team): ActiveFormation | undefined {
  const read = readTopology(team.paths.topology);
  if (read.kind === 'ok') {
    const { formation, members } = read.topology;
    const endpoints = Object.values(members).map((m) => m.endpoint);
    const live = endpoints.filter((e) => e.type !== 'local' || isOurs(e.pid, e.started ?? ''));
    if (live.length > 0) return { name: formation, members: live.length };
  }
  const local = [...teamEntries(readState(), team.name).values()].filter((e) => e.by !== 'daemon' && isOurs(e.pid, e.started));
  return local.length > 0 ? { name: 'local', members: local.length } : undefined;
}

/** The refusal to start on `target` while the team runs on another formation, or undefined. */
export function otherFormation(team: Team, target: string): { active: ActiveFormation; error: BmError } | undefined {
  const active = activeFormation(team);
  if (!active || active.name === target) return undefined;
  const flag = target === 'local' ? '' : ` --formation ${target}`;
  return {
    active,
    error: new BmError(
      `Team '${team.name}' runs on formation '${active.name}' (${active.members} member(s)); a team runs on one formation at a time`,
      `To switch, tear it down and deploy: \`bm stop -t ${team.name}\` then \`bm start${flag} -t ${team.name}\`, or \`bm start${flag} --yes\` to do both.`,
    ),
  };
}

/**
 * The refusal of a daemon for a team whose members run persistently on another formation than
 * the local one (the daemon runs them locally: each would work the board twice), or undefined.
 */
export function deployedElsewhere(team: Team): BmError | undefined {
  const active = activeFormation(team);
  if (!active || active.name === 'local') return undefined;
  return new BmError(
    `Team '${team.name}' runs persistently on formation '${active.name}' (${active.members} member(s)); the daemon would run them a second time here`,
    `Leave them to formation '${active.name}', or stop them there first (\`bm stop -t ${team.name}\`) and then start the daemon.`,
  );
}
