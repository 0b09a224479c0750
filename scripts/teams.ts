/**
 * `bm teams list|show|sync`: the teams registered in the operator config, and provisioning
 * their members' workspaces (the sync logic lives in lib/sync/).
 */
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { loadConfig, resolveTeam, teamsOf } from '../lib/config.ts';
import { gatesOf, parseGateList, setGates, type HumanGate } from '../lib/gates.ts';
import { commitAll } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { UsageError, info, out, printJson, printTable, warn } from '../lib/output.ts';
import { requireKnownSchema } from '../lib/schema.ts';
import { DEFAULT_JOBS, pushTeamRepo, syncTeam } from '../lib/sync/index.ts';
import { createProgress, failureError, printPlan, printSummary } from '../lib/sync/report.ts';
import { listMembers, loadTeam, loadTeamFromFlag, memberNames, projectsOf, readMember, withTeamLock } from '../lib/team.ts';

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

const sync = defineCommand({
  name: 'teams sync',
  summary: 'Create or update every member\'s workspaces',
  description: [
    'For each member and each project: {workzone}/{team}/<member>/<project>/, a clone of the project fork on',
    'branch <member> (a plain `git init` at {workzone}/{team}/<member>/ when the team has no projects), with',
    'the team repo cloned at .botminter/, PROMPT.md and CLAUDE.md linked from the member, a ralph.yml copy and',
    '.claude/agents assembled team -> project -> member. A second sync pulls and repairs in place; a local',
    'ralph.yml edit is never overwritten silently (it is kept as ralph.yml.edited). One failing workspace',
    'does not stop the others; the command then exits 1 and names it.',
  ].join('\n'),
  args: [{ name: 'member', description: 'only these members (default: all)', variadic: true, complete: 'members' }],
  options: {
    push: { type: 'boolean', description: 'push the team repo to its remote first' },
    'dry-run': { type: 'boolean', description: 'print the plan (create / update / nothing) per workspace; write nothing' },
    jobs: { type: 'string', value: 'N', description: `workspaces synced at once (default ${DEFAULT_JOBS})` },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm teams sync', 'bm teams sync --dry-run', 'bm teams sync dev-alice --push', 'bm teams sync --json'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    requireKnownSchema(team.name, team.schemaVersion);
    const jobsFlag = cli.string('jobs');
    const jobs = jobsFlag === undefined ? DEFAULT_JOBS : Number(jobsFlag);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, not '${jobsFlag}'`, 'Example: `bm teams sync --jobs 8`.');
    const members = cli.rest.length ? [...new Set(cli.rest)].map((m) => readMember(team, validateName('member', m)).name) : undefined;
    const dryRun = cli.flag('dry-run');
    const json = cli.flag('json');
    if (!members && memberNames(team).length === 0) {
      if (json) return printJson({ team: team.name, dryRun, summary: { total: 0, created: 0, updated: 0, unchanged: 0, failed: 0 }, workspaces: [], warnings: [] });
      return out('No members hired. Run `bm hire <role>` first.');
    }
    if (cli.flag('push')) {
      if (dryRun) info('Dry run: the team repo would be pushed first.');
      else info(`Pushed the team repo (${await pushTeamRepo(team)}).`);
    }
    const progress = createProgress();
    const report = await syncTeam(team, { members, dryRun, jobs, onResult: dryRun ? undefined : progress.update });
    progress.finish();
    for (const w of report.warnings) warn(w);
    for (const w of report.workspaces.flatMap((r) => r.warnings)) warn(w);
    if (json) printJson(report);
    else if (dryRun) printPlan(report);
    else printSummary(report);
    const failure = failureError(report);
    if (failure) throw failure;
  },
});

const gates = defineCommand({
  name: 'teams gates',
  summary: 'Show or switch the team\'s human gates (statuses that wait for your approval)',
  description: [
    'Without GATES, lists the human gates the profile declares and whether each is on. With GATES (a',
    'comma-separated list, `all` or `none`), switches exactly those on, commits the team manifest and',
    'reminds you to sync: members read the gates from their copy of the team repo.',
  ].join('\n'),
  args: [{ name: 'gates', description: 'gates to switch on: e.g. design,accept, or all, or none' }],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm teams gates', 'bm teams gates design,accept', 'bm teams gates none --json'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const wanted = cli.args.gates;
    let changed: HumanGate[] = [];
    if (wanted !== undefined) {
      const names = parseGateList(wanted, team.manifest);
      changed = await withTeamLock(team, async () => {
        const done = setGates(team, names);
        if (done.length > 0) await commitAll(team.paths.repo, `feat: human gates ${names.join(',') || 'none'}`, ['botminter.yml']);
        return done;
      });
    }
    const all = gatesOf(team.manifest);
    if (cli.flag('json')) return printJson({ team: team.name, gates: all, changed: changed.map((g) => g.name) });
    if (all.length === 0) return out(`Team '${team.name}' (profile ${team.entry.profile}) declares no human gates.`);
    printTable(['Gate', 'On', 'Status', 'Approve ->', 'Reject ->', 'What'], all.map((g) => [g.name, g.enabled ? 'on' : 'off', g.status, g.approve, g.reject, g.description]));
    if (wanted !== undefined) {
      out('');
      out(changed.length ? `Switched ${changed.map((g) => `${g.name} ${g.enabled ? 'on' : 'off'}`).join(', ')}. Next: \`bm teams sync --push\` so the members see it.` : 'Nothing to change.');
    }
  },
});

export const command = defineGroup({ name: 'teams', summary: 'List, show and sync teams', subcommands: [list, show, sync, gates] });

if (isMain(import.meta, command)) void runMain(command);
