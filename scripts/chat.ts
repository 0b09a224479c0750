/**
 * `bm chat MEMBER`: an interactive Claude Code session in the member's workspace, as the member:
 * its CLAUDE.md applies (Claude Code reads it from the workspace), and the member's role prompt
 * (PROMPT.md), plus one hat's instructions with `--hat`, are appended to Claude's system prompt
 * through the session abstraction (lib/session.ts). `--continue` resumes the last chat in that
 * workspace (Claude Code keeps its own history); `--print-prompt` shows the assembled context
 * and launches nothing.
 */
import path from 'node:path';
import { defineCommand, isMain, runMain, teamOption } from '../lib/cli.ts';
import { readAgentFile, readTextIfExists } from '../lib/files.ts';
import { memberEnv } from '../lib/lifecycle/start.ts';
import { slotsOf } from '../lib/lifecycle/slots.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out } from '../lib/output.ts';
import { interactiveSession } from '../lib/session.ts';
import { loadTeamFromFlag, readMember } from '../lib/team.ts';
import { yaml } from '../lib/yaml.ts';

/** The context appended to Claude's system prompt for a chat with `member`. */
function chatPrompt(member: string, role: string, team: string, workspace: string, hat: string | undefined): string {
  const prompt = readTextIfExists(path.join(workspace, 'PROMPT.md')) ?? '(this member has no PROMPT.md)';
  const parts = [
    `# You are ${member}, the ${role} of the bm team '${team}', talking with the operator`,
    '',
    'The operator (the human behind the team) opened this chat to talk with you directly. Answer their',
    'questions about your work, explain what you did and why, and do what they ask in this workspace.',
    'Your autonomous loop is not running in this session: do not scan the board or pick up work on your',
    'own. Follow your role\'s rules and the team\'s invariants (under .botminter/) as always.',
    '',
    '## Your role (your PROMPT.md)',
    '',
    prompt.trim(),
  ];
  if (hat) {
    let config: { hats?: Record<string, { name?: string; instructions?: string }> };
    try {
      config = (yaml().parse(readAgentFile(path.join(workspace, 'ralph.yml')) ?? '') ?? {}) as typeof config;
    } catch (error) {
      throw new BmError(`Cannot read the hats of ${member} (${(error as Error).message})`, 'Run `bm teams sync` to repair the workspace.');
    }
    const hats = Object.keys(config.hats ?? {});
    const chosen = config.hats?.[hat];
    if (!chosen) throw new BmError(`Hat '${hat}' not found for ${member}`, hats.length ? `Hats: ${hats.join(', ')}.` : 'This member has no hats.');
    parts.push('', `## You wear the hat '${hat}'${chosen.name ? ` (${chosen.name})` : ''}`, '', (chosen.instructions ?? '').trim());
  }
  return `${parts.join('\n')}\n`;
}

export const command = defineCommand({
  name: 'chat',
  summary: 'Talk with a member: Claude Code in its workspace, with its role context',
  description: [
    'Starts Claude Code interactively in the member\'s workspace (its CLAUDE.md applies), with its role prompt',
    '(PROMPT.md) and, with --hat, that hat\'s instructions from its ralph.yml appended to the system prompt.',
    '--continue resumes the last chat in that workspace. --print-prompt prints the assembled context and',
    'launches nothing. With several projects, --project picks the workspace (default: the first).',
  ].join('\n'),
  args: [{ name: 'member', description: 'member to talk with, e.g. dev-alice', required: true, complete: 'members' }],
  options: {
    hat: { type: 'string', value: 'HAT', description: 'also give it this hat\'s instructions (e.g. implementer)' },
    continue: { type: 'boolean', short: 'c', description: 'resume the last chat in the workspace' },
    'print-prompt': { type: 'boolean', description: 'print the assembled context and exit' },
    project: { type: 'string', value: 'PROJECT', description: 'which project\'s workspace (several projects)', complete: 'projects' },
    team: teamOption,
  },
  examples: ['bm chat dev-alice', 'bm chat dev-alice --hat implementer', 'bm chat dev-alice --continue', 'bm chat reviewer-rita --print-prompt'],
  async run(cli) {
    const name = validateName('member', cli.args.member ?? '');
    const team = loadTeamFromFlag(cli.string('team'));
    const member = readMember(team, name);
    const project = cli.string('project');
    const slots = slotsOf(team).filter((s) => s.member === name && (project === undefined || s.project === validateName('project', project)));
    const slot = slots.find((s) => s.provisioned);
    if (!slot) throw new BmError(`${name} has no workspace${project ? ` on project '${project}'` : ''} yet`, 'Run `bm teams sync` first.');
    const hat = cli.string('hat');
    if (hat !== undefined && !/^[A-Za-z0-9_-]{1,63}$/.test(hat)) throw new BmError(`Invalid hat name '${hat.slice(0, 80)}'`, 'Hat names look like `implementer` or `board_scanner`.');
    const prompt = chatPrompt(name, member.role, team.name, slot.workspace, hat);
    if (cli.flag('print-prompt')) return out(prompt.trimEnd());
    info(`Starting Claude Code as ${name} in ${slot.workspace}${cli.flag('continue') ? ' (continuing the last chat)' : ''}.`);
    const exit = await interactiveSession({ name: `chat-${name}`, prompt, cwd: slot.workspace, resume: cli.flag('continue'), env: memberEnv(team.entry) });
    if (exit.code !== 0) throw new BmError(`Claude Code exited with ${exit.code ?? exit.signal}`, 'See its output above.');
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
