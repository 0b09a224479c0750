/**
 * `bm teams list|show|sync|use|gates|notify|tmux|remove`: the teams registered in the operator
 * config, their settings, and provisioning their members' workspaces (the sync logic lives in
 * lib/sync/).
 */
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, resolveTeam, teamsOf, updateConfig } from '../lib/config.ts';
import { gatesOf, parseGateList, setGates, type HumanGate } from '../lib/gates.ts';
import { commitAll } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { channelsOf, hostOf, Notifier, validWebhook } from '../lib/notify.ts';
import { BmError, UsageError, info, out, printJson, printTable, warn } from '../lib/output.ts';
import { daemonStatus } from '../lib/daemon/files.ts';
import { home } from '../lib/paths.ts';
import { isOurs, timings, which } from '../lib/proc.ts';
import { ask, canPrompt, closePrompts, confirm } from '../lib/prompt.ts';
import { readState, teamEntries } from '../lib/state.ts';
import { tmuxSocket } from '../lib/tmux.ts';
import { requireKnownSchema } from '../lib/schema.ts';
import { DEFAULT_JOBS, pushTeamRepo, syncTeam } from '../lib/sync/index.ts';
import { startAfterLayout, stopForLayout } from '../lib/sync/layout.ts';
import { describeLaunch, memberEnv } from '../lib/lifecycle/start.ts';
import { createProgress, failureError, printPlan, printSummary } from '../lib/sync/report.ts';
import { listMembers, loadTeam, loadTeamFromFlag, memberNames, projectsOf, readMember, withTeamLock, type Team } from '../lib/team.ts';

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
    '',
    'Adding the first project (or removing the last) changes a member\'s layout: its old workspace is moved',
    'to {workzone}/{team}/archive/ and new ones are made. A member running there is refused (the others',
    'continue); --restart stops it, restructures its workspace and starts it again.',
  ].join('\n'),
  args: [{ name: 'member', description: 'only these members (default: all)', variadic: true, complete: 'members' }],
  options: {
    push: { type: 'boolean', description: 'push the team repo to its remote first' },
    board: { type: 'boolean', description: 'instead of workspaces: reconcile the board\'s Status options and the labels with the profile' },
    prune: { type: 'boolean', description: 'with --board: also remove statuses that items still use' },
    'dry-run': { type: 'boolean', description: 'print the plan (create / update / nothing) per workspace; write nothing' },
    restart: { type: 'boolean', description: 'stop members whose workspace layout must change, restructure it, start them again' },
    jobs: { type: 'string', value: 'N', description: `workspaces synced at once (default ${DEFAULT_JOBS})` },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm teams sync', 'bm teams sync --dry-run', 'bm teams sync --restart', 'bm teams sync dev-alice --push', 'bm teams sync --board --dry-run', 'bm teams sync --json'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    requireKnownSchema(team.name, team.schemaVersion);
    if (cli.flag('board')) return syncBoard(team, cli.flag('prune'), cli.flag('dry-run'), cli.flag('json'));
    if (cli.flag('prune')) throw new UsageError('--prune goes with --board', 'Run `bm teams sync --board --prune`.');
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
    const lifecycle = { timings: timings(), env: memberEnv(team.entry) };
    const stopped = cli.flag('restart') && !dryRun ? await stopForLayout(team, members ?? memberNames(team), lifecycle) : undefined;
    const progress = createProgress();
    const report = await syncTeam(team, { members, dryRun, jobs, onResult: dryRun ? undefined : progress.update });
    progress.finish();
    for (const w of report.warnings) warn(w);
    for (const w of report.workspaces.flatMap((r) => r.warnings)) warn(w);
    if (stopped) for (const r of await startAfterLayout(team, stopped, lifecycle)) for (const line of describeLaunch(r)) info(line);
    if (json) printJson(report);
    else if (dryRun) printPlan(report);
    else printSummary(report);
    const failure = failureError(report);
    if (failure) throw failure;
  },
});

/** `bm teams sync --board`: the team's GitHub board and labels brought in line with its manifest. */
async function syncBoard(team: Team, prune: boolean, dryRun: boolean, json: boolean): Promise<void> {
  const slug = team.entry.github_repo;
  if (!slug) throw new BmError(`Team '${team.name}' has no GitHub repository, so it has no board`, 'Create the team with `bm init --github-repo OWNER/NAME` to get one.');
  const github = await import('../lib/github.ts');
  const gh = await github.createGitHub({ token: team.entry.credentials?.gh_token || process.env.GH_TOKEN });
  const result = await github.reconcileBoard(gh, slug, `${team.name} Board`, team.manifest.statuses ?? [], team.manifest.labels ?? [], { prune, dryRun });
  for (const name of result.kept) warn(`status '${name}' is not in the profile but items still use it; kept (move them, or pass --prune)`);
  if (json) return printJson({ team: team.name, board: result.url, dryRun, changes: result.changes, kept: result.kept });
  if (result.changes.length === 0) return out(`The board and labels of team '${team.name}' match the profile. Nothing to do.`);
  for (const change of result.changes) out(`${dryRun ? 'would ' : ''}${change}`);
}

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

const notify = defineCommand({
  name: 'teams notify',
  summary: 'Show or set where the daemon notifies you (JSON webhook, desktop)',
  description: [
    'The daemon notifies you of new inbox items, failed runs, members backing off after failed runs, members',
    'at their run budget and running members that look stalled (quiet for BM_STALL_MINUTES, default 30):',
    'as a JSON POST to a webhook (Slack-, Discord- and ntfy-compatible fields) and/or a desktop notification',
    'through notify-send. `--webhook` reads the URL from stdin (a Slack or Discord URL is a secret: it never',
    'goes on the command line) and stores it with the team\'s credentials (config.yml, mode 600). Each event',
    'is sent once, at most 6 a minute. The daemon reads the settings when it starts.',
  ].join('\n'),
  options: {
    webhook: { type: 'boolean', description: 'set the webhook URL, read from stdin (or asked on a terminal)' },
    'no-webhook': { type: 'boolean', description: 'remove the webhook' },
    desktop: { type: 'boolean', description: 'switch desktop notifications (notify-send) on' },
    'no-desktop': { type: 'boolean', description: 'switch desktop notifications off' },
    test: { type: 'boolean', description: 'send a test notification through the channels' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm teams notify', 'echo "$SLACK_WEBHOOK_URL" | bm teams notify --webhook --test', 'bm teams notify --desktop --no-webhook'],
  async run(cli) {
    const entry = resolveTeam(loadConfig(), cli.string('team'));
    if (cli.flag('webhook') && cli.flag('no-webhook')) throw new UsageError('--webhook and --no-webhook exclude each other', 'Pass one of them.');
    if (cli.flag('desktop') && cli.flag('no-desktop')) throw new UsageError('--desktop and --no-desktop exclude each other', 'Pass one of them.');
    let webhook: string | undefined;
    if (cli.flag('webhook')) {
      const raw = canPrompt() ? await ask('Webhook URL') : await readFirstLine();
      closePrompts();
      webhook = validWebhook(raw);
      if (!webhook) throw new BmError('The webhook URL is not an http(s) URL', 'Pipe the full URL, e.g. `echo "$WEBHOOK_URL" | bm teams notify --webhook`.');
    }
    const changes = cli.flag('webhook') || cli.flag('no-webhook') || cli.flag('desktop') || cli.flag('no-desktop');
    if (changes) {
      updateConfig((config) => {
        const team = resolveTeam(config, entry.name);
        if (webhook) team.credentials = { ...team.credentials, notify_webhook: webhook };
        if (cli.flag('no-webhook') && team.credentials) delete team.credentials.notify_webhook;
        if (cli.flag('desktop') || cli.flag('no-desktop')) team.notify = { ...team.notify, desktop: cli.flag('desktop') };
      });
    }
    const channels = channelsOf(resolveTeam(loadConfig(), entry.name));
    let tested = false;
    if (cli.flag('test')) {
      const notifier = new Notifier({ team: entry.name, channels, secrets: [entry.credentials?.gh_token, entry.credentials?.webhook_secret], stateFile: path.join(os.tmpdir(), `bm-notify-test-${process.pid}.json`), log: (level, line) => (level === 'warn' ? warn(line) : info(line)) });
      if (!notifier.enabled) throw new BmError('No notification channel is set', 'Set one with `--webhook` or `--desktop` first.');
      tested = await notifier.notify({ key: `test:${Date.now()}`, kind: 'test', title: 'test notification', text: 'Notifications from the bm daemon reach you here.' });
      rmSync(path.join(os.tmpdir(), `bm-notify-test-${process.pid}.json`), { force: true });
    }
    const shown = { team: entry.name, webhook: channels.webhook ? hostOf(channels.webhook) : null, desktop: Boolean(channels.desktop), notifySend: Boolean(which('notify-send')), tested };
    if (cli.flag('json')) return printJson(shown);
    out(`Webhook: ${shown.webhook ? `set (${shown.webhook})` : 'none'}`);
    out(`Desktop: ${shown.desktop ? 'on' : 'off'}${shown.desktop && !shown.notifySend ? ' (notify-send is not installed: nothing will show)' : ''}`);
    if (tested) out('Sent a test notification.');
    if (changes) out('The daemon reads these when it starts: restart it with `bm daemon stop && bm daemon start` if it runs.');
  },
});

const use = defineCommand({
  name: 'teams use',
  summary: 'Make a team the default (what commands act on without -t)',
  args: [{ name: 'team', description: 'team name (see `bm teams list`)', required: true, complete: 'teams' }],
  options: { json: jsonOption },
  examples: ['bm teams use beta'],
  run(cli) {
    const name = validateName('team', cli.args.team ?? '');
    const previous = updateConfig((config) => {
      const before = config.default_team ?? null;
      config.default_team = resolveTeam(config, name).name;
      return before;
    });
    if (cli.flag('json')) return printJson({ default: name, previous });
    out(previous === name ? `'${name}' already is the default team.` : `'${name}' is now the default team${previous ? ` (was '${previous}')` : ''}.`);
  },
});

const tmux = defineCommand({
  name: 'teams tmux',
  summary: 'Show or set whether `bm start` runs the team\'s members in tmux',
  description: [
    'With `on`, `bm start` runs each local member in a window of the team\'s own tmux session, as',
    '`bm start --tmux` does, so that `bm attach MEMBER` shows it live (`bm start --no-tmux` still runs',
    'them detached). Members already running keep running where they are. Needs tmux on PATH.',
  ].join('\n'),
  args: [{ name: 'setting', description: '`on` or `off` (default: show the setting)' }],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm teams tmux', 'bm teams tmux on', 'bm teams tmux off -t my-team'],
  run(cli) {
    const setting = cli.args.setting;
    if (setting !== undefined && setting !== 'on' && setting !== 'off') throw new UsageError(`Expected 'on' or 'off', not '${setting}'`, 'Example: `bm teams tmux on`.');
    const name = resolveTeam(loadConfig(), cli.string('team')).name;
    const on = setting === undefined
      ? resolveTeam(loadConfig(), name).tmux === true
      : updateConfig((config) => {
        const entry = resolveTeam(config, name);
        if (setting === 'on') entry.tmux = true;
        else delete entry.tmux;
        return setting === 'on';
      });
    const tmuxFound = Boolean(which('tmux'));
    if (cli.flag('json')) return printJson({ team: name, tmux: on, tmuxInstalled: tmuxFound });
    out(`Team '${name}': \`bm start\` runs members ${on ? 'in tmux windows (`bm attach MEMBER` joins one)' : 'detached (`bm start --tmux` for tmux)'}.`);
    if (on && !tmuxFound) warn('tmux is not on PATH: `bm start` will refuse until it is installed.');
  },
});

const remove = defineCommand({
  name: 'teams remove',
  summary: 'Unregister a team (its files stay unless --purge)',
  description: [
    'Removes the team from the operator config (with its credentials). Its team dir (team repo and',
    'workspaces) stays on disk unless --purge, which also deletes the daemon files and logs. Refused while',
    'a member or the daemon runs: stop them first. Asks for confirmation on a TTY; elsewhere pass --yes.',
    'GitHub (repository, board) is not touched.',
  ].join('\n'),
  args: [{ name: 'team', description: 'team name (see `bm teams list`)', required: true, complete: 'teams' }],
  options: {
    purge: { type: 'boolean', description: 'also delete the team dir, its daemon files and logs' },
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
    json: jsonOption,
  },
  examples: ['bm teams remove old-team', 'bm teams remove old-team --purge --yes'],
  async run(cli) {
    const name = validateName('team', cli.args.team ?? '');
    const entry = resolveTeam(loadConfig(), name);
    const running = [...teamEntries(readState(), name).entries()].filter(([, e]) => isOurs(e.pid, e.started)).map(([key]) => key);
    if (running.length) throw new BmError(`Team '${name}' has running members: ${running.join(', ')}`, `Stop them first: \`bm stop -t ${name}\`.`);
    if (daemonStatus(name).running) throw new BmError(`Team '${name}' has a running daemon`, `Stop it first: \`bm daemon stop -t ${name}\`.`);
    const purge = cli.flag('purge');
    if (!cli.flag('yes')) {
      if (!canPrompt()) throw new BmError(`Refusing to remove team '${name}' without confirmation`, 'Pass --yes to confirm.');
      const confirmed = await confirm(`Remove team '${name}'${purge ? ` and delete ${entry.path}` : ''}?`);
      closePrompts();
      if (!confirmed) return out('Nothing changed.');
    }
    const newDefault = updateConfig((config) => {
      config.teams = teamsOf(config).filter((t) => t.name !== name);
      if (config.default_team === name) config.default_team = config.teams[0]?.name ?? null;
      return config.default_team ?? null;
    });
    if (purge) for (const dir of [entry.path, home.daemon(name), home.logs(name), tmuxSocket(name)]) rmSync(dir, { recursive: true, force: true });
    if (cli.flag('json')) return printJson({ team: name, purged: purge, kept: purge ? null : entry.path, default: newDefault });
    out(`Removed team '${name}'.${purge ? '' : ` Its files are still at ${entry.path}.`}`);
    if (newDefault) out(`The default team is '${newDefault}'.`);
  },
});

async function readFirstLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? '';
}

export const command = defineGroup({ name: 'teams', summary: 'List, show and sync teams', subcommands: [list, show, use, sync, gates, notify, tmux, remove] });

if (isMain(import.meta.url, command)) void runMain(command);
