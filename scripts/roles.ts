/**
 * `bm roles list`: the roles a team can hire, from its profile.
 */
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { printJson, printTable } from '../lib/output.ts';
import { loadProfile } from '../lib/profiles.ts';
import { loadTeamFromFlag } from '../lib/team.ts';

const list = defineCommand({
  name: 'roles list',
  summary: 'List the roles the team can hire',
  options: { team: teamOption, json: jsonOption },
  examples: ['bm roles list', 'bm roles list -t my-team --json'],
  run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const hireable = new Set(loadProfile(team.entry.profile).roles);
    const roles = (team.manifest.roles ?? []).map((r) => ({ name: r.name, description: r.description ?? '', hireable: hireable.has(r.name) }));
    if (cli.flag('json')) return printJson(roles);
    printTable(['Role', 'Description'], roles.map((r) => [r.name, r.description]));
  },
});

export const command = defineGroup({ name: 'roles', summary: 'List the roles a team can hire', subcommands: [list] });

if (isMain(import.meta.url, command)) void runMain(command);
