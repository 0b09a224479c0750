/**
 * The operator config `BM_HOME/config.yml`: workzone, default team, registered teams and their
 * credentials. Always mode 0600 (it holds tokens), written atomically under a lock.
 */
import { chmodSync, statSync } from 'node:fs';
import { withFileLock, writeFileAtomic, readTextIfExists } from './files.ts';
import { acceptName, validateName } from './names.ts';
import { BmError, warn } from './output.ts';
import { home } from './paths.ts';
import { readSimpleYaml } from './simple-yaml.ts';
import { yaml } from './yaml.ts';
import { acceptedBefore, rememberAccepted } from './parse-cache.ts';
import { operatorConfigSchema, parseYaml, type OperatorConfig, type TeamEntry } from './schema.ts';

export type { OperatorConfig, TeamEntry };

/** Loads the config; a missing file is an empty config. Tightens a loose file mode to 0600. */
export function loadConfig(file: string = home.config()): OperatorConfig {
  const text = readTextIfExists(file);
  if (text === undefined) return { teams: [] };
  enforcePrivateMode(file);
  // Never through the parse cache: the config holds tokens, and a cache must not copy them.
  // The config as bm writes it takes the fast reader; anything else, or anything the schema
  // refuses, goes through the yaml package, whose errors say where.
  const plain = readSimpleYaml(text);
  // @speed-only-begin: only a fingerprint of the text is kept (lib/parse-cache.ts), never the text.
  if (plain !== undefined && acceptedBefore('operator-config', file, text)) return withTeams(plain as OperatorConfig);
  // @speed-only-end
  const simple = operatorConfigSchema().safeParse(plain);
  if (simple.success) rememberAccepted('operator-config', file, text);
  return withTeams(simple.success ? simple.data : parseYaml(text, file, operatorConfigSchema).value);
}

function withTeams(config: OperatorConfig): OperatorConfig {
  return { ...config, teams: config.teams ?? [] };
}

function enforcePrivateMode(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if (mode === 0o600) return;
  try {
    chmodSync(file, 0o600);
    warn(`${file} was readable by others (mode ${mode.toString(8)}); it holds tokens, so bm set it to 600.`);
  } catch {
    warn(`${file} has mode ${mode.toString(8)} and bm could not change it. Run \`chmod 600 ${file}\`.`);
  }
}

/** Writes the config atomically with mode 0600. */
export function saveConfig(config: OperatorConfig, file: string = home.config()): void {
  writeFileAtomic(file, yaml().stringify(config, { lineWidth: 0 }), 0o600);
}

/** Read-modify-write of the config under its lock, so concurrent bm commands lose nothing. */
export function updateConfig<T>(change: (config: OperatorConfig) => T, file: string = home.config()): T {
  return withFileLock(file, () => {
    const config = loadConfig(file);
    const result = change(config);
    saveConfig(config, file);
    return result;
  });
}

/** The teams registered in the config; an entry with an invalid team or profile name is skipped with a warning. */
export function teamsOf(config: OperatorConfig): TeamEntry[] {
  const source = home.config();
  return (config.teams ?? []).filter((t) => acceptName('team', t.name, `${source} (teams)`) && acceptName('profile', t.profile, `${source} (team '${t.name}')`));
}

/**
 * Picks the team a command acts on: `-t/--team` if given, else the default team. Errors say
 * what to run next.
 */
export function resolveTeam(config: OperatorConfig, flag?: string): TeamEntry {
  const teams = teamsOf(config);
  if (teams.length === 0) throw new BmError('No teams configured', 'Run `bm init` first.');
  const wanted = flag === undefined ? config.default_team ?? undefined : validateName('team', flag);
  if (!wanted) throw new BmError('No default team set', 'Use `-t <team>` or run `bm init` to create a team.');
  const team = teams.find((t) => t.name === wanted);
  if (!team) {
    throw new BmError(`Team '${wanted}' not found`, `Available teams: ${teams.map((t) => t.name).join(', ')}.`);
  }
  return team;
}

/** Adds (or replaces) a team entry; the first team registered becomes the default. */
export function registerTeam(config: OperatorConfig, entry: TeamEntry): void {
  const teams = teamsOf(config).filter((t) => t.name !== entry.name);
  teams.push(entry);
  config.teams = teams;
  if (!config.default_team || !teams.some((t) => t.name === config.default_team)) config.default_team = entry.name;
}
