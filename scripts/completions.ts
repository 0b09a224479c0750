/**
 * `bm completions bash|zsh|fish`: prints a completion script for the shell.
 *
 * The scripts are thin: on TAB they call `bm completions --complete -- <words>` and show what it
 * prints. All completion logic lives here, driven by the same command declarations as `--help`,
 * so completions can never drift from the real flags, and names (teams, members, roles) are live.
 */
import { existsSync } from 'node:fs';
import { defineCommand, isMain, runMain, type Completion, type CommandSpec, type Spec } from '../lib/cli.ts';
import { loadConfig, resolveTeam, teamsOf } from '../lib/config.ts';
import { UsageError, out } from '../lib/output.ts';
import { loadProfile, profileNames, subdirs } from '../lib/profiles.ts';
import { loadTeam, memberNames, projectsOf } from '../lib/team.ts';

const SHELLS = ['bash', 'zsh', 'fish'];

/** Loaders of every command's declaration (static imports, so the compile cache can bundle them). */
const COMMAND_LOADERS: Record<string, () => Promise<{ command: Spec }>> = {
  init: () => import('./init.ts'),
  hire: () => import('./hire.ts'),
  fire: () => import('./fire.ts'),
  teams: () => import('./teams.ts'),
  members: () => import('./members.ts'),
  roles: () => import('./roles.ts'),
  profiles: () => import('./profiles.ts'),
  projects: () => import('./projects.ts'),
  knowledge: () => import('./knowledge.ts'),
  upgrade: () => import('./upgrade.ts'),
  start: () => import('./start.ts'),
  stop: () => import('./stop.ts'),
  status: () => import('./status.ts'),
  logs: () => import('./logs.ts'),
  attach: () => import('./attach.ts'),
  daemon: () => import('./daemon.ts'),
  inbox: () => import('./inbox.ts'),
  answer: () => import('./answer.ts'),
  approve: () => import('./approve.ts'),
  reject: () => import('./reject.ts'),
  chat: () => import('./chat.ts'),
  console: () => import('./console.ts'),
  completions: async () => ({ command }),
};

/** Names of the commands completions knows about. */
export const completableCommands = Object.keys(COMMAND_LOADERS);

function quietly<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function liveValues(kind: Completion, teamFlag: string | undefined): string[] {
  const team = () => loadTeam(resolveTeam(loadConfig(), teamFlag));
  switch (kind) {
    case 'teams': return quietly(() => teamsOf(loadConfig()).map((t) => t.name), []);
    case 'members': return quietly(() => memberNames(team()), []);
    case 'roles': return quietly(() => loadProfile(team().entry.profile).roles, []);
    case 'profiles': return quietly(profileNames, []);
    case 'projects': return quietly(() => projectsOf(team()).map((p) => p.name), []);
    case 'formations': return quietly(() => subdirs(team().paths.formations).filter((f) => existsSync(`${team().paths.formations}/${f}/formation.yml`)), []);
    case 'shells': return SHELLS;
    case 'scopes': return ['team', 'project', 'member', 'member-project'];
    case 'files': return [];
  }
}

function leafFor(spec: Spec, words: string[]): { leaf: CommandSpec | undefined; consumed: number; verbs: string[] } {
  if (!('subcommands' in spec)) return { leaf: spec, consumed: 0, verbs: [] };
  const verbs = spec.subcommands.filter((s) => !s.hidden).map((s) => s.name.split(' ').slice(1).join(' '));
  const match = spec.subcommands.find((s) => s.name.split(' ').slice(1).join(' ') === words[0]);
  if (match) return { leaf: match, consumed: 1, verbs };
  return { leaf: spec.fallback, consumed: 0, verbs };
}

/** Candidates for the last word of `words` (the words typed after `bm`, the last one partial). */
export async function completeWords(words: string[]): Promise<string[]> {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const matching = (candidates: string[]) => candidates.filter((c) => c.startsWith(current));
  if (before.length === 0) return matching(Object.keys(COMMAND_LOADERS));
  const loader = COMMAND_LOADERS[before[0]];
  if (!loader) return [];
  const spec = (await loader()).command;
  const { leaf, consumed, verbs } = leafFor(spec, before.slice(1));
  if ('subcommands' in spec && before.length === 1 && !current.startsWith('-')) return matching(verbs);
  if (!leaf) return [];
  const args = before.slice(1 + consumed);
  const options = Object.entries(leaf.options ?? {}).filter(([, o]) => !o.hidden);
  const teamIndex = args.findIndex((w) => w === '-t' || w === '--team');
  const teamFlag = teamIndex >= 0 ? args[teamIndex + 1] : undefined;
  const previous = args[args.length - 1];
  const pending = options.find(([name, o]) => o.type === 'string' && (previous === `--${name}` || (o.short && previous === `-${o.short}`)));
  if (pending) return matching(pending[1].complete ? liveValues(pending[1].complete, teamFlag) : []);
  if (current.startsWith('-')) return matching([...options.map(([name]) => `--${name}`), '--help']);
  const positionals = args.filter((w, i) => !w.startsWith('-') && !options.some(([name, o]) => o.type === 'string' && (args[i - 1] === `--${name}` || (o.short && args[i - 1] === `-${o.short}`))));
  const argSpecs = leaf.args ?? [];
  const argSpec = argSpecs[Math.min(positionals.length, argSpecs.length - 1)];
  if (!argSpec || (positionals.length >= argSpecs.length && !argSpec.variadic)) return [];
  return matching(argSpec.complete ? liveValues(argSpec.complete, teamFlag) : []);
}

function script(shell: string): string {
  switch (shell) {
    case 'bash':
      return [
        '# bm completion for bash. Load with: source <(bm completions bash)',
        '_bm_complete() {',
        '  local IFS=$\'\\n\'',
        '  COMPREPLY=($(bm completions --complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))',
        '}',
        'complete -o default -F _bm_complete bm',
      ].join('\n');
    case 'zsh':
      return [
        '#compdef bm',
        '# bm completion for zsh. Load with: source <(bm completions zsh)',
        '_bm() {',
        '  local -a candidates',
        '  candidates=("${(@f)$(bm completions --complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")',
        '  compadd -a candidates',
        '}',
        'compdef _bm bm',
      ].join('\n');
    case 'fish':
      return [
        '# bm completion for fish. Load with: bm completions fish | source',
        'complete -c bm -f -a "(bm completions --complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)"',
      ].join('\n');
    default:
      throw new UsageError(`Unknown shell '${shell}'`, `Supported shells: ${SHELLS.join(', ')}.`);
  }
}

export const command = defineCommand({
  name: 'completions',
  summary: 'Print a shell completion script (bash, zsh, fish)',
  description: 'Completes commands, flags and live team, member, role and profile names.',
  args: [{ name: 'shell', description: 'bash, zsh or fish', complete: 'shells' }, { name: 'words', description: 'with --complete: the words typed so far', variadic: true }],
  options: {
    complete: { type: 'boolean', description: 'print candidates for the words after `--` (used by the scripts)', hidden: true },
  },
  examples: ['source <(bm completions bash)', 'bm completions fish > ~/.config/fish/completions/bm.fish'],
  async run(cli) {
    if (cli.flag('complete')) {
      const words = [cli.args.shell, ...cli.rest].filter((w): w is string => w !== undefined);
      for (const candidate of await completeWords(words.length ? words : [''])) out(candidate);
      return;
    }
    if (!cli.args.shell) throw new UsageError('Missing SHELL (bm completions)', `Supported shells: ${SHELLS.join(', ')}.`);
    if (cli.rest.length) throw new UsageError(`Unexpected argument '${cli.rest[0]}' (bm completions)`, 'Usage: bm completions SHELL.');
    out(script(cli.args.shell));
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
