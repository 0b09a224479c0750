/**
 * `bm stop [-f] [MEMBER...]`: stops running members, all at once. Each one is first asked to
 * finish its iteration (`ralph loops stop`, waiting up to BM_STOP_GRACE_MS, default 60 s), then
 * its process group gets SIGTERM and, BM_STOP_KILL_MS later (default 5 s), SIGKILL. `-f` skips
 * the graceful request. Stopped members leave state.json; the topology goes with the last one.
 */
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { memberEnv } from '../lib/lifecycle/start.ts';
import { stopMembers, stopTargets, type StopRow, type StrayRow } from '../lib/lifecycle/stop.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out, warn } from '../lib/output.ts';
import { timings } from '../lib/proc.ts';
import { loadTeamFromFlag } from '../lib/team.ts';

function describe(row: StopRow): string {
  const took = `${(row.ms / 1000).toFixed(1)}s`;
  const why = row.result.detail ? ` (${row.result.detail})` : '';
  const who = row.unrecorded && row.endpoint.type === 'k8s' ? `${row.key} (pod ${row.endpoint.namespace}/${row.endpoint.pod} with no record)` : row.key;
  switch (row.result.outcome) {
    case 'stopped': return `${who}: stopped in ${took}${why}`;
    case 'terminated': return `${who}: terminated with SIGTERM in ${took}${why}`;
    case 'killed': return `${who}: killed with SIGKILL in ${took}${why}`;
    case 'not-running': return `${who}: already exited`;
    case 'failed': return `${who}: could not be stopped${why}`;
  }
}

function describeStray(row: StrayRow): string {
  const pids = row.processes.map((p) => p.pid).join(', ');
  const what = `${row.processes.length} process(es) still working in its workspace with no record (PID ${pids})`;
  switch (row.result) {
    case 'survived': return `${row.key}: could not end ${what}`;
    case 'none': return `${row.key}: ${what} had already exited`;
    default: return `${row.key}: ended ${what} with ${row.result === 'killed' ? 'SIGKILL' : 'SIGTERM'}`;
  }
}

export const command = defineCommand({
  name: 'stop',
  summary: 'Stop running members (graceful, then SIGTERM, then SIGKILL)',
  description: [
    'Stops every running member of the team (or the ones named), all at the same time. Without',
    '-f each is asked to stop at its next iteration boundary (`ralph loops stop`) and given',
    'BM_STOP_GRACE_MS (default 60000) to do so; then its process group gets SIGTERM, and SIGKILL',
    'after BM_STOP_KILL_MS (default 5000). Endpoints come from topology.json, else state.json.',
    'A k8s member\'s pod and ConfigMap are deleted; --purge also deletes the team\'s namespace.',
    '',
    'A member is its whole process tree: what it left in its process group is ended with it, and',
    'so are its processes still working in the team\'s workspaces that escaped the group or that',
    'no record knows (found by their BM_MEMBER marker). Pods carrying the team\'s labels in any namespace of',
    'a context the team was deployed to are deleted too, recorded or not. A running daemon does not run the stopped',
    'members again until an event arrives after the stop (or `bm start`).',
  ].join('\n'),
  args: [{ name: 'member', description: 'members to stop (default: all)', variadic: true, complete: 'members' }],
  options: {
    force: { type: 'boolean', short: 'f', description: 'skip the graceful stop: SIGTERM at once, then SIGKILL' },
    purge: { type: 'boolean', description: 'k8s: also delete the team\'s namespace and its credentials Secret' },
    team: teamOption,
  },
  examples: ['bm stop', 'bm stop dev-alice', 'bm stop -f', 'bm stop --purge'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const members = cli.rest.map((m) => {
      const [member, project] = m.split('/');
      validateName('member', member);
      if (project !== undefined) validateName('project', project);
      return m;
    });
    // k8s pods are deleted one by one; --purge then removes what they shared (namespace, Secret).
    const purged = cli.flag('purge') ? stopTargets(team, []).flatMap((t) => (t.endpoint.type === 'k8s' ? [t.endpoint] : [])) : [];
    const report = await stopMembers(team, {
      members: members.length ? members : undefined,
      force: cli.flag('force'),
      timings: timings(),
      env: memberEnv(team.entry),
      onWarning: warn,
      onResult: (row) => info(describe(row)),
      onStray: (row) => info(describeStray(row)),
    });
    if (purged.length > 0) {
      const { purgeNamespaces } = await import('../lib/endpoints/k8s.ts');
      for (const line of await purgeNamespaces(purged)) info(line);
    }
    const live = report.rows.filter((r) => r.result.outcome !== 'not-running');
    if (live.length === 0 && report.strays.length > 0) {
      const failed = report.strays.filter((r) => r.result === 'survived').length;
      out(`No members were recorded as running; ended the unrecorded processes of ${report.strays.length} member(s), ${failed} error(s).`);
      if (failed > 0) throw new BmError('Some processes could not be ended', 'Check the lines above; `ps -p <pid>` shows whether they still run.');
      return;
    }
    if (live.length === 0) {
      out(members.length ? `None of ${members.join(', ')} is running in team '${team.name}'.` : `No members running for team '${team.name}'.`);
      return;
    }
    const failed = live.filter((r) => r.result.outcome === 'failed').length + report.strays.filter((r) => r.result === 'survived').length;
    out(`Stopped ${live.length - failed} member(s), ${failed} error(s).`);
    if (failed > 0) throw new BmError('Some members could not be stopped', 'Check the lines above; `ps -p <pid>` shows whether they still run.');
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
