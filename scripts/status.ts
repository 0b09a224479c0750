/**
 * `bm status [-v] [--json]`: the team at a glance: profile, formation, daemon, and each member
 * with a live health check of its endpoint (local: pid plus process start time).
 */
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { memberEnv } from '../lib/lifecycle/start.ts';
import { endpointLabel, teamStatus, verboseDetails, type MemberStatus, type VerboseSection } from '../lib/lifecycle/status.ts';
import { stallMinutes } from '../lib/lifecycle/activity.ts';
import type { PodDetails } from '../lib/endpoints/k8s.ts';
import { UsageError, info, out, printJson, printTable, style, warn } from '../lib/output.ts';
import { loadTeamFromFlag } from '../lib/team.ts';

function when(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').slice(0, 19);
}

function coloured(status: MemberStatus['status']): string {
  switch (status) {
    case 'running': return style('green', status);
    case 'crashed':
    case 'error': return style('red', status);
    case 'unknown': return style('yellow', status);
    case 'stopped': return status;
  }
}

function daemonLine(daemon: { running: boolean; pid: number | null; mode: string | null; port?: number; interval?: number }): string | undefined {
  if (!daemon.running) return undefined;
  const how = daemon.mode === 'webhook' && daemon.port ? `, webhook mode, port ${daemon.port}`
    : daemon.mode === 'poll' && daemon.interval ? `, poll mode, interval ${daemon.interval}s`
      : daemon.mode ? `, ${daemon.mode} mode` : '';
  return `running (PID ${daemon.pid}${how})`;
}

/** The `-v` lines of a pod member: restarts, how its container last ended, its last events. */
function podLines(pod: PodDetails): string[] {
  const ended = pod.lastTermination;
  return [
    `Restarts:         ${pod.restarts}`,
    `Last termination: ${ended ? `${ended.reason}${ended.exitCode === null ? '' : ` (exit ${ended.exitCode})`}, container ${ended.container}${ended.finishedAt ? `, ${when(ended.finishedAt)}` : ''}` : '—'}`,
    `Last events:${pod.events.length ? '' : '      —'}`,
    ...pod.events.map((e) => `  ${e}`),
  ];
}

export const command = defineCommand({
  name: 'status',
  summary: 'Show the team\'s members and whether each one runs',
  description: [
    'Prints the team, profile, formation and daemon, then one row per member workspace with a',
    'live health check: running, stopped, crashed (recorded as running but gone; reported once,',
    'then forgotten), error or unknown (the formation could not be reached). -v adds, for each',
    'running member, the output of `ralph loops list`, `ralph hats` and the last events; for a',
    'member in a pod, its restarts, how its container last ended and the pod\'s last events.',
    'A crashed member\'s leftover processes in its group are ended; member processes working in',
    'the team\'s workspaces that no running record accounts for are reported as warnings, with',
    'the `bm stop` that ends them.',
    'For each running member it also shows the issue it works on (the last #N in its events), its current',
    'hat, the time of its last output, and `stalled` when it wrote nothing for --stall-after minutes',
    '(default: $BM_STALL_MINUTES, else 30).',
  ].join('\n'),
  options: {
    verbose: { type: 'boolean', short: 'v', description: 'add ralph\'s own view of each running member; restarts and events of a pod' },
    'stall-after': { type: 'string', value: 'MINUTES', description: 'quiet time after which a running member shows as stalled (default 30)' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm status', 'bm status -v', 'bm status --json'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const stallFlag = cli.string('stall-after');
    const quiet = stallFlag === undefined ? stallMinutes() : Number(stallFlag);
    if (!Number.isFinite(quiet) || quiet <= 0) throw new UsageError(`--stall-after must be a positive number of minutes, not '${stallFlag}'`, 'Example: `bm status --stall-after 20`.');
    const status = await teamStatus(team, { stallMinutes: quiet });
    for (const w of status.warnings) warn(w);
    const details = new Map<string, VerboseSection[]>();
    const pods = new Map<string, PodDetails>();
    if (cli.flag('verbose')) {
      const env = memberEnv(team.entry, process.env);
      await Promise.all(status.members.map(async (m) => {
        if (m.status === 'running' && m.endpoint?.type === 'local') details.set(m.key, await verboseDetails(m.endpoint.workspace, env));
        // A pod member in any state: restarts and events are what tell why it is not running.
        if (m.endpoint?.type === 'k8s') {
          const { podDetails } = await import('../lib/endpoints/k8s.ts');
          const pod = await podDetails(m.endpoint);
          if (pod) pods.set(m.key, pod);
        }
      }));
    }
    if (cli.flag('json')) {
      printJson({ ...status, members: status.members.map((m) => ({ ...m, ...(details.has(m.key) ? { details: details.get(m.key) } : {}), ...(pods.has(m.key) ? { pod: pods.get(m.key) } : {}) })) });
      return;
    }
    out(`Team:      ${status.team}`);
    out(`Profile:   ${status.profile}`);
    if (status.formation) out(`Formation: ${status.formation}`);
    const daemon = daemonLine(status.daemon);
    if (daemon) out(`Daemon:    ${daemon}`);
    out('');
    if (status.members.length === 0) {
      out('No members hired yet. Run `bm hire <role>` to hire one.');
      return;
    }
    printTable(['Member', 'Role', 'Status', 'Issue', 'Hat', 'Last output', 'Endpoint', 'Started'], status.members.map((m) => {
      const a = m.activity;
      return [m.key, m.role, a?.stalled ? style('yellow', 'stalled') : coloured(m.status), a?.issue ? `#${a.issue}` : '—', a?.hat ?? '—', when(a?.lastOutputAt ?? null), endpointLabel(m), when(m.startedAt)];
    }));
    // Why a member is unknown, in error, not ready or drifted: the table has no room for it.
    for (const m of status.members.filter((row) => row.detail && row.status !== 'stopped' && row.status !== 'crashed')) {
      out(`  ${m.key}: ${m.detail}${m.detail?.startsWith('drifted') && status.formation ? ` (\`bm start --formation ${status.formation}\` restores it)` : ''}`);
    }
    for (const m of status.members.filter((row) => row.status === 'crashed')) {
      info(`${m.key} crashed: its process is gone. It now counts as stopped; see ${m.log ?? 'its log'} and run \`bm start ${m.name}\` to restart it.`);
    }
    for (const m of status.members) {
      const sections = details.get(m.key);
      const pod = pods.get(m.key);
      if (!sections && !pod) continue;
      out('');
      out(style('bold', `── ${m.key} (${endpointLabel(m)}) ──`));
      for (const s of sections ?? []) {
        out(`  $ ${s.command}`);
        for (const line of s.output.split('\n')) out(`    ${line}`);
      }
      if (pod) for (const line of podLines(pod)) out(`  ${line}`);
    }
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
