/**
 * `bm fire MEMBER`: stops the member everywhere it runs, removes its directory from the team
 * repo and commits, then moves its workspaces aside into `{team dir}/archive/` (they may hold
 * unpushed work; `--purge` deletes them) and says where. A name hired again starts fresh.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
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
import { archiveFolder } from '../lib/workspaces.ts';

export const command = defineCommand({
  name: 'fire',
  summary: 'Fire a member: remove its directory from the team repo',
  description: [
    'Stops the member wherever it runs (as `bm stop MEMBER`), then removes members/<member>/ from the',
    'team repo and commits. Its workspaces are moved to archive/<member>-<time>/ in the team dir, so',
    'a member hired later under the same name starts from a fresh workspace; --purge deletes them',
    'instead. Asks for confirmation on a TTY; elsewhere pass --yes.',
  ].join('\n'),
  args: [{ name: 'member', description: 'member to fire, e.g. dev-alice (see `bm members list`)', required: true, complete: 'members' }],
  options: {
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
    purge: { type: 'boolean', description: 'delete the member\'s workspaces instead of archiving them' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm fire dev-alice', 'bm fire dev-alice --yes', 'bm fire dev-alice --yes --purge'],
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
    // A name is hired again as a new member: it must never find this one's files, branch or .ralph state.
    const workspaces = team.paths.memberRoot(name);
    let archived: string | null = null;
    if (existsSync(workspaces)) {
      if (cli.flag('purge')) {
        rmSync(workspaces, { recursive: true, force: true });
      } else {
        archived = archiveFolder(team, name);
        renameSync(workspaces, archived);
      }
    }
    if (cli.flag('json')) return printJson({ team: team.name, member: name, role: member.role, archived, purged: cli.flag('purge') });
    out(`Fired ${name} from team '${team.name}'.`);
    if (archived) out(`Its workspaces were moved to ${archived}; delete that folder once nothing there is needed.`);
    else if (cli.flag('purge')) out(`Its workspaces were deleted (--purge).`);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
