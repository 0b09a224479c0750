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
import type { Team } from '../team.ts';

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
