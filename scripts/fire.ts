/**
 * `bm fire MEMBER`: stops the member if it runs, then removes its directory from the team repo
 * and commits. The member's workspaces are left on disk (they may hold unpushed work); bm says
 * where they are.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { liftHolds } from '../lib/daemon/holds.ts';
import { commitAll } from '../lib/git.ts';
import { memberEnv } from '../lib/lifecycle/start.ts';
import { stopMembers } from '../lib/lifecycle/stop.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out, printJson, warn } from '../lib/output.ts';
import { timings } from '../lib/proc.ts';
import { canPrompt, closePrompts, confirm } from '../lib/prompt.ts';
import { loadTeamFromFlag, readMember, withTeamLock } from '../lib/team.ts';

export const command = defineCommand({
  name: 'fire',
  summary: 'Fire a member: remove its directory from the team repo',
  description: 'Stops the member if it runs (as `bm stop MEMBER`), then removes members/<member>/ from the team\nrepo and commits. Asks for confirmation on a TTY; elsewhere pass --yes. Workspaces are kept on disk.',
  args: [{ name: 'member', description: 'member to fire, e.g. dev-alice (see `bm members list`)', required: true, complete: 'members' }],
  options: {
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm fire dev-alice', 'bm fire dev-alice --yes'],
  async run(cli) {
    const name = validateName('member', cli.args.member ?? '');
    const team = loadTeamFromFlag(cli.string('team'));
    const member = readMember(team, name);
    if (!cli.flag('yes')) {
      if (!canPrompt()) throw new BmError(`Refusing to fire '${name}' without confirmation`, 'Pass --yes to confirm.');
      const confirmed = await confirm(`Fire ${name} from team '${team.name}'? Its directory in the team repo will be removed`);
      closePrompts();
      if (!confirmed) {
        out('Nothing changed.');
        return;
      }
    }
    // A member left running would keep working (and holding a workspace) with no directory behind it.
    const stopped = await stopMembers(team, { members: [name], force: false, timings: timings(), env: memberEnv(team.entry), onWarning: warn, onResult: (row) => {
      if (row.result.outcome !== 'not-running') info(`${row.key}: stopped before firing (${row.result.outcome})`);
    } });
    const failed = stopped.rows.filter((r) => r.result.outcome === 'failed');
    if (failed.length > 0) {
      throw new BmError(`Could not stop '${name}' (${failed.map((r) => r.result.detail ?? r.key).join('; ')})`, `Nothing was fired; try \`bm stop -f ${name}\` first.`);
    }
    await withTeamLock(team, async () => {
      rmSync(member.dir, { recursive: true, force: true });
      await commitAll(team.paths.repo, `feat: fire ${name}`, [path.relative(team.paths.repo, member.dir)]);
    });
    liftHolds(team.name, [name]);
    const workspaces = team.paths.memberRoot(name);
    const kept = existsSync(workspaces) ? workspaces : null;
    if (cli.flag('json')) return printJson({ team: team.name, member: name, role: member.role, workspacesKept: kept });
    out(`Fired ${name} from team '${team.name}'.`);
    if (kept) out(`Its workspaces are still at ${kept}; delete them by hand once nothing there is needed.`);
  },
});

if (isMain(import.meta, command)) void runMain(command);
