/**
 * `bm start [--formation F] [MEMBER...]`: runs members. On the local formation (the default)
 * each provisioned member workspace gets its own detached `ralph run -P PROMPT.md`, logged to
 * BM_HOME/logs/<team>/<member>.log; bm then checks they survive a short liveness window and
 * writes the team's topology.json.
 */
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { startFormation, summary } from '../lib/formations/index.ts';
import { otherFormation, resolveFormation } from '../lib/lifecycle/formation.ts';
import { validateName } from '../lib/names.ts';
import { BmError, UsageError, info, isTerminal, out, warn } from '../lib/output.ts';
import { home } from '../lib/paths.ts';
import { timings } from '../lib/proc.ts';
import { requireKnownSchema } from '../lib/schema.ts';
import { loadTeamFromFlag, readMember, type Team } from '../lib/team.ts';

/**
 * A team runs on one formation at a time: starting on another one is refused, or, confirmed (a
 * terminal, or --yes), the team is stopped where it runs first.
 */
async function leaveOtherFormation(team: Team, target: string, yes: boolean): Promise<void> {
  const other = otherFormation(team, target);
  if (!other) return;
  if (!yes) {
    const { canPrompt, closePrompts, confirm } = await import('../lib/prompt.ts');
    if (!canPrompt() || !isTerminal(2)) throw other.error;
    const go = await confirm(`Team '${team.name}' runs on formation '${other.active.name}'. Stop its ${other.active.members} member(s) there and start on '${target}'?`);
    closePrompts();
    if (!go) throw new BmError('Nothing was changed', `The team still runs on formation '${other.active.name}'.`);
  }
  info(`Stopping the team on formation '${other.active.name}' before starting on '${target}'...`);
  const [{ stopMembers }, { memberEnv }] = await Promise.all([import('../lib/lifecycle/stop.ts'), import('../lib/lifecycle/start.ts')]);
  const report = await stopMembers(team, { force: false, timings: timings(), env: memberEnv(team.entry), onWarning: warn, onResult: (row) => info(`${row.key}: ${row.result.outcome}`) });
  if (report.rows.some((r) => r.result.outcome === 'failed')) {
    throw new BmError(`Could not stop the team on formation '${other.active.name}'`, `Nothing was started on '${target}'; see the lines above and retry \`bm stop -t ${team.name}\`.`);
  }
}

export const command = defineCommand({
  name: 'start',
  summary: 'Start members: one ralph loop per member workspace',
  description: [
    'Starts every hired member (or the ones named) that is not already running. On the local',
    'formation each workspace gets a detached `ralph run -P PROMPT.md` in its own process group;',
    'output goes to BM_HOME/logs/<team>/<member>.log. A member still alive after a short check',
    '(BM_START_CHECK_MS, default 2000) counts as started. Needs `ralph` on PATH and workspaces',
    'from `bm teams sync`.',
    '',
    'Any other formation (e.g. k8s) is deployed by its formation manager, which writes the',
    'topology; when every member already runs healthy and unchanged, nothing is done. --dry-run',
    'prints what would be deployed (checked by the target) and changes nothing; on a terminal a',
    'deploy that would restart or remove members asks first, unless --yes.',
    '',
    'With --tmux (or `bm teams tmux on`) each local member runs in a window of the team\'s own tmux',
    'session instead, so `bm attach MEMBER` can show it live; its output still goes to its log.',
    '',
    'A team runs on one formation at a time: while it runs on another one (see `bm status`),',
    'start refuses, naming it; on a terminal it asks to stop the team there first, and --yes',
    'does so without asking.',
  ].join('\n'),
  args: [{ name: 'member', description: 'members to start (default: all)', variadic: true, complete: 'members' }],
  options: {
    formation: { type: 'string', value: 'NAME', description: 'formation to deploy to (default: local)', complete: 'formations' },
    tmux: { type: 'boolean', description: 'local: run each member in a window of the team\'s tmux session (see `bm attach`)' },
    'no-tmux': { type: 'boolean', description: 'local: run members detached, even when the team is set to tmux' },
    'dry-run': { type: 'boolean', description: 'non-local formations: print the manifests and plan, change nothing' },
    yes: { type: 'boolean', short: 'y', description: 'do not ask before restarting or removing members, or before stopping the team on another formation' },
    team: teamOption,
  },
  examples: ['bm start', 'bm start dev-alice qe-01', 'bm start --formation local -t my-team', 'bm start --tmux', 'bm start --formation k8s --dry-run', 'bm start --formation k8s --yes'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const formation = resolveFormation(team, cli.string('formation'));
    if (!cli.flag('dry-run')) await leaveOtherFormation(team, formation.name, cli.flag('yes'));
    if (formation.type !== 'local') {
      if (cli.rest.length > 0) throw new UsageError(`Formation '${formation.name}' deploys the whole team, not single members`, `Run \`bm start --formation ${formation.name}\` without member names.`);
      const result = await startFormation(team, formation, { dryRun: cli.flag('dry-run'), yes: cli.flag('yes') });
      const line = summary(formation, result);
      if (line) out(line);
      return;
    }
    if (cli.flag('dry-run')) throw new UsageError('--dry-run applies to non-local formations only', 'Use `bm start --formation k8s --dry-run`.');
    requireKnownSchema(team.name, team.schemaVersion);
    const members = cli.rest.map((m) => readMember(team, validateName('member', m)).name);
    // Imported here: a repeated `bm start --formation k8s` should load no more than it uses.
    const { describeLaunch, startLocal } = await import('../lib/lifecycle/start.ts');
    const tmux = cli.flag('no-tmux') ? false : cli.flag('tmux') || team.entry.tmux === true;
    const results = await startLocal(team, { members: members.length ? members : undefined, timings: timings(), formation: formation.name, progress: info, tmux });
    for (const r of results) for (const line of describeLaunch(r)) info(line);
    const started = results.filter((r) => r.status === 'started').length;
    const skipped = results.filter((r) => r.status === 'already-running').length;
    const errors = results.length - started - skipped;
    out(`Started ${started} member(s), skipped ${skipped} (already running), ${errors} error(s).`);
    if (tmux && started > 0) info('They run in tmux: `bm attach MEMBER` shows one live.');
    if (errors > 0) {
      throw new BmError('Some members failed to start', `See the lines above; logs are in ${home.logs(team.name)}.`);
    }
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
