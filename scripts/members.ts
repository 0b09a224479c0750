/**
 * `bm members list|show`: the team's hired members.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { validateName } from '../lib/names.ts';
import { out, printJson, printTable } from '../lib/output.ts';
import { memberRunStates } from '../lib/state.ts';
import { listMembers, loadTeamFromFlag, readMember } from '../lib/team.ts';

const list = defineCommand({
  name: 'members list',
  summary: 'List the team\'s members',
  options: { team: teamOption, json: jsonOption },
  examples: ['bm members list', 'bm members list --json'],
  run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const running = memberRunStates(team.name);
    const members = listMembers(team).map((m) => ({ name: m.name, role: m.role, displayName: m.manifest?.name ?? m.name, status: running.get(m.name) ?? 'stopped' }));
    if (cli.flag('json')) return printJson(members);
    if (members.length === 0) return out('No members hired yet. Run `bm hire <role>` to hire a member.');
    printTable(['Member', 'Role', 'Status'], members.map((m) => [m.name, m.role, m.status]));
  },
});

function markdownFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.md')).sort();
}

const show = defineCommand({
  name: 'members show',
  summary: 'Show one member: role, files, knowledge and workspaces',
  args: [{ name: 'member', description: 'member name, e.g. dev-alice', required: true, complete: 'members' }],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm members show dev-alice'],
  run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const member = readMember(team, validateName('member', cli.args.member ?? ''));
    const root = team.paths.memberRoot(member.name);
    const details = {
      name: member.name,
      role: member.role,
      displayName: member.manifest?.name ?? member.name,
      emoji: member.manifest?.comment_emoji ?? '',
      dir: member.dir,
      knowledge: markdownFiles(path.join(member.dir, 'knowledge')),
      invariants: markdownFiles(path.join(member.dir, 'invariants')),
      hats: existsSync(path.join(member.dir, 'hats')) ? readdirSync(path.join(member.dir, 'hats')).sort() : [],
      workspaceRoot: existsSync(root) ? root : null,
    };
    if (cli.flag('json')) return printJson(details);
    out(`Member:     ${details.name}`);
    out(`Role:       ${details.role}${details.emoji ? ` ${details.emoji}` : ''}`);
    out(`Directory:  ${details.dir}`);
    out(`Hats:       ${details.hats.join(', ') || '(none)'}`);
    out(`Knowledge:  ${details.knowledge.join(', ') || '(none)'}`);
    out(`Invariants: ${details.invariants.join(', ') || '(none)'}`);
    out(`Workspaces: ${details.workspaceRoot ?? 'none yet (run `bm teams sync`)'}`);
  },
});

export const command = defineGroup({ name: 'members', summary: 'List and show the team\'s members', subcommands: [list, show] });

if (isMain(import.meta.url, command)) void runMain(command);
