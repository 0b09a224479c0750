/**
 * `bm attach MEMBER`: puts the operator in front of a member's live session. A member started
 * with `bm start --tmux` runs in a window of the team's tmux session (lib/tmux.ts): attach joins
 * that window until the operator detaches (the tmux prefix, Ctrl-b, then d); the member keeps
 * running. Any other member is followed through its output as `bm logs -f` does: its live log
 * on this machine, its pod's output on k8s.
 */
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, isTerminal } from '../lib/output.ts';
import { isOurs } from '../lib/proc.ts';
import { readState, teamEntries } from '../lib/state.ts';
import { loadTeamFromFlag } from '../lib/team.ts';
import { attachTmux } from '../lib/tmux.ts';
import { readTopology } from '../lib/topology.ts';
import { command as logs } from './logs.ts';

export const command = defineCommand({
  name: 'attach',
  summary: 'Watch a member live: join its tmux window, or follow its output',
  description: [
    'A member started with `bm start --tmux` runs in a window of the team\'s tmux session: attach',
    'joins that window, where you see the agent work and can type to it. Detach with Ctrl-b then d;',
    'the member keeps running. Any other member is followed through its output instead, as',
    '`bm logs -f` does (its last 50 lines first): the live log on this machine, the pod\'s output on',
    'k8s. Ctrl-C stops following; the member keeps running. On a team with several projects,',
    'MEMBER/PROJECT picks one workspace.',
  ].join('\n'),
  args: [{ name: 'member', description: 'member name, e.g. dev-alice (or dev-alice/PROJECT)', required: true, complete: 'members' }],
  options: { team: teamOption },
  examples: ['bm start --tmux && bm attach dev-alice', 'bm attach dev-alice/website', 'bm attach qe-01 -t my-team'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const spec = cli.args.member ?? '';
    const [member, project] = spec.split('/');
    validateName('member', member);
    if (project !== undefined) validateName('project', project);
    const inTmux = [...teamEntries(readState(), team.name)]
      .filter(([key, entry]) => (key === spec || entry.member === spec) && entry.tmux && isOurs(entry.pid, entry.started));
    if (inTmux.length > 1) {
      throw new BmError(`${member} runs in ${inTmux.length} tmux windows, one per project`, `Name one: ${inTmux.map(([key]) => `\`bm attach ${key}\``).join(', ')}.`);
    }
    const [key, entry] = inTmux[0] ?? [];
    if (key && entry?.tmux) {
      if (!isTerminal(0) || !isTerminal(1)) {
        throw new BmError(`Attaching to ${key} needs a terminal`, `Run it in a terminal, or follow its output with \`bm logs ${key} -f -t ${team.name}\`.`);
      }
      info(`Attaching to ${key} (tmux window ${entry.tmux?.window}); detach with Ctrl-b then d, the member keeps running.`);
      const code = attachTmux(entry.tmux, team.name);
      if (code !== 0) throw new BmError(`tmux could not attach to ${key} (exit ${code})`, `See \`bm status -t ${team.name}\`; \`bm logs ${key} -f\` follows its output.`);
      return;
    }
    const topology = readTopology(team.paths.topology);
    const pod = topology.kind === 'ok' ? Object.entries(topology.topology.members).find(([key]) => key === spec || key.split('/')[0] === spec)?.[1].endpoint : undefined;
    info(pod?.type === 'k8s'
      ? `${spec} runs in pod ${pod.namespace}/${pod.pod}; following its output, Ctrl-C stops.`
      : `${spec} does not run in tmux (\`bm start --tmux\` does that); following its output, Ctrl-C stops.`);
    await runMain(logs, [spec, '--follow', '--lines', '50', '--team', team.name]);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
