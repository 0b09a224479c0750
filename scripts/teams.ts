/**
 * `bm teams list|show`: the teams registered in the operator config.
 */
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { loadConfig, resolveTeam, teamsOf } from '../lib/config.ts';
import { out, printJson, printTable } from '../lib/output.ts';
import { listMembers, loadTeam, projectsOf } from '../lib/team.ts';

const list = defineCommand({
  name: 'teams list',
  summary: 'List the registered teams',
  options: { json: jsonOption },
  examples: ['bm teams list', 'bm teams list --json'],
  run(cli) {
    const config = loadConfig();
    const teams = teamsOf(config).map((t) => ({
      name: t.name,
      profile: t.profile,
      githubRepo: t.github_repo ?? '',
      path: t.path,
      default: t.name === config.default_team,
    }));
    if (cli.flag('json')) return printJson(teams);
    if (teams.length === 0) return out('No teams registered. Run `bm init` to create one.');
    printTable(['Team', 'Profile', 'GitHub', 'Default'], teams.map((t) => [t.name, t.profile, t.githubRepo || '(none)', t.default ? '✔' : '']));
  },
});

const show = defineCommand({
  name: 'teams show',
  summary: 'Show a team: profile, schema, repo, members and projects',
  args: [{ name: 'team', description: 'team name (default: -t or the default team)', complete: 'teams' }],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm teams show', 'bm teams show my-team --json'],
  run(cli) {
    const config = loadConfig();
    const entry = resolveTeam(config, cli.args.team ?? cli.string('team'));
    const team = loadTeam(entry);
    const details = {
      name: team.name,
      profile: entry.profile,
      schema: team.schemaVersion ?? null,
      default: team.name === config.default_team,
      path: team.paths.dir,
      repo: team.paths.repo,
      githubRepo: entry.github_repo || null,
      remote: entry.remote || null,
      members: listMembers(team).map((m) => ({ name: m.name, role: m.role })),
      projects: projectsOf(team).map((p) => ({ name: p.name, forkUrl: p.fork_url })),
    };
    if (cli.flag('json')) return printJson(details);
    out(`Team:     ${details.name}${details.default ? ' (default)' : ''}`);
    out(`Profile:  ${details.profile} (schema ${details.schema ?? 'unknown'})`);
    out(`Team dir: ${details.path}`);
    out(`Repo:     ${details.repo}`);
    out(`GitHub:   ${details.githubRepo ?? '(none)'}`);
    if (details.remote) out(`Remote:   ${details.remote}`);
    out('');
    out(`Members (${details.members.length}):`);
    for (const m of details.members) out(`  ${m.name} (${m.role})`);
    if (details.members.length === 0) out('  none: run `bm hire <role>`');
    out('');
    out(`Projects (${details.projects.length}):`);
    for (const p of details.projects) out(`  ${p.name}  ${p.forkUrl}`);
    if (details.projects.length === 0) out('  none: run `bm projects add <git-url>`');
  },
});

export const command = defineGroup({ name: 'teams', summary: 'List, show and sync teams', subcommands: [list, show] });

if (isMain(import.meta, command)) await runMain(command);
