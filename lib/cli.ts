/**
 * A small declarative command layer with its own strict flag parser.
 *
 * Each script declares its command (arguments, flags, examples) and calls `runMain` when it is
 * the entry point. The same declarations drive `--help`, usage errors and shell completions.
 * The parser is ours rather than `node:util` parseArgs because under Deno loading node:util
 * alone costs a third of bm's start-up budget, and because ours can suggest the flag meant.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest } from './suggest.mjs';
import { BmError, EXIT, UsageError, displayWidth, errorJson, exitCodeOf, formatError, out, padCells, style, write } from './output.ts';

/** What a flag or argument completes to in the shell. */
export type Completion = 'teams' | 'members' | 'roles' | 'profiles' | 'formations' | 'projects' | 'shells' | 'scopes' | 'files';

/** One flag. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  multiple?: boolean;
  complete?: Completion;
  hidden?: boolean;
}

/** One positional argument. */
export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
  complete?: Completion;
}

/** Parsed flags and arguments handed to a command's `run`. */
export interface Invocation {
  args: Record<string, string | undefined>;
  rest: string[];
  string(name: string): string | undefined;
  flag(name: string): boolean;
  list(name: string): string[];
}

/** A leaf command such as `bm hire` or `bm teams list`. */
export interface CommandSpec {
  /** Full name after `bm`, e.g. `teams list`. */
  name: string;
  summary: string;
  description?: string;
  args?: ArgSpec[];
  options?: Record<string, OptionSpec>;
  examples: string[];
  hidden?: boolean;
  run(invocation: Invocation): Promise<void> | void;
}

/** A command with subcommands such as `bm teams`. */
export interface GroupSpec {
  name: string;
  summary: string;
  description?: string;
  subcommands: CommandSpec[];
  /** Runs when no subcommand is given (e.g. `bm knowledge`). */
  fallback?: CommandSpec;
}

export type Spec = CommandSpec | GroupSpec;

/** `-t/--team`, shared by every command that acts on a team. */
export const teamOption: OptionSpec = { type: 'string', short: 't', value: 'TEAM', description: 'team to act on (default: the default team)', complete: 'teams' };
/** `--json`, shared by every list, show and status command. */
export const jsonOption: OptionSpec = { type: 'boolean', description: 'print machine-readable JSON on stdout' };
export const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

/** Declares a command (identity function that gives type checking at the call site). */
export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** Declares a command group. */
export function defineGroup(spec: GroupSpec): GroupSpec {
  return spec;
}

/**
 * True when `spec`'s script is the program's entry point: named by the launcher (which may have
 * bundled the scripts it imports into one file), or run directly with Node or Deno.
 */
export function isMain(moduleUrl: string, spec: Spec): boolean {
  const launched = (globalThis as { bmEntryCommand?: string }).bmEntryCommand;
  if (launched !== undefined) return launched === spec.name.split(' ')[0];
  const entry = process.argv[1];
  if (!entry) return false;
  const stem = (p: string) => path.basename(p).replace(/\.(ts|mjs|js)$/, '');
  return stem(entry) === stem(fileURLToPath(moduleUrl));
}

/** `bm <name> ARG [OPTIONAL] [flags]`. */
export function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => {
    const label = a.name.toUpperCase() + (a.variadic ? '...' : '');
    return a.required ? label : `[${label}]`;
  });
  const hasFlags = Object.values(spec.options ?? {}).some((o) => !o.hidden);
  return ['bm', spec.name, ...args, ...(hasFlags ? ['[flags]'] : [])].join(' ');
}

/** `-t, --team TEAM` or `    --json`. */
export function flagLabel(name: string, option: OptionSpec): string {
  const long = `--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : `    ${long}`;
}

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => displayWidth(left)));
  return rows.map(([left, right]) => `  ${padCells(left, width)}   ${right}`);
}

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`${style('bold', `bm ${spec.name}`)}: ${spec.summary}`, ''];
  if (spec.description) lines.push(spec.description.trim(), '');
  lines.push(`${style('bold', 'Usage:')} ${usageLine(spec)}`, '');
  if (spec.args?.length) {
    lines.push(style('bold', 'Arguments:'), ...columns(spec.args.map((a) => [a.name.toUpperCase(), a.description])), '');
  }
  const options = Object.entries({ ...(spec.options ?? {}), help: helpOption }).filter(([, o]) => !o.hidden);
  lines.push(style('bold', 'Flags:'), ...columns(options.map(([name, o]) => [flagLabel(name, o), o.description + (o.multiple ? ' (repeatable)' : '')])), '');
  lines.push(style('bold', 'Examples:'), ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** The `--help` text of a group. */
export function groupHelp(spec: GroupSpec): string {
  const lines = [`${style('bold', `bm ${spec.name}`)}: ${spec.summary}`, ''];
  if (spec.description) lines.push(spec.description.trim(), '');
  const visible = spec.subcommands.filter((s) => !s.hidden);
  lines.push(style('bold', 'Commands:'), ...columns(visible.map((s) => [`bm ${s.name}`, s.summary])), '');
  lines.push(`Run \`bm ${spec.name} <command> --help\` for the flags of each.`);
  return lines.join('\n');
}

type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Splits `argv` into flag values and positionals, strictly: an unknown flag, a missing value or
 * a value given to a boolean flag is an error. Accepts `--name value`, `--name=value`, `-n value`,
 * `-nvalue`, bundled booleans (`-yf`), repeated flags when `multiple`, and `--` before positionals.
 */
export function parseFlags(argv: readonly string[], options: Record<string, OptionSpec>): { values: FlagValues; positionals: string[] } {
  const values: FlagValues = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short).map(([name, o]) => [o.short as string, name]));
  const label = (name: string) => `'${options[name].short ? `-${options[name].short}, ` : ''}--${name}'`;
  const set = (name: string, value: string | boolean) => {
    const option = options[name];
    if (option.multiple && typeof value === 'string') values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else values[name] = value;
  };
  const unknown = (flag: string): never => {
    const guess = closest(flag.replace(/^-+/, ''), Object.keys(options));
    throw new Error(`Unknown option '${flag}'${guess ? `. Did you mean '--${guess}'?` : ''}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = token.slice(2, eq === -1 ? undefined : eq);
      if (!Object.hasOwn(options, name)) unknown(token.slice(0, eq === -1 ? undefined : eq));
      if (options[name].type === 'boolean') {
        if (eq !== -1) throw new Error(`Option ${label(name)} does not take a value`);
        set(name, true);
      } else if (eq !== -1) {
        set(name, token.slice(eq + 1));
      } else {
        const value = argv[i + 1];
        if (value === undefined || (value.startsWith('-') && value.length > 1)) throw new Error(`Option ${label(name)} needs a value`);
        set(name, value);
        i++;
      }
      continue;
    }
    if (token.startsWith('-') && token.length > 1) {
      for (let j = 1; j < token.length; j++) {
        const name = byShort.get(token[j]);
        if (name === undefined) unknown(`-${token[j]}`);
        if (options[name as string].type === 'boolean') {
          set(name as string, true);
          continue;
        }
        const inline = token.slice(j + 1);
        const value = inline || argv[i + 1];
        if (value === undefined || (!inline && value.startsWith('-') && value.length > 1)) throw new Error(`Option ${label(name as string)} needs a value`);
        set(name as string, value);
        if (!inline) i++;
        break;
      }
      continue;
    }
    positionals.push(token);
  }
  return { values, positionals };
}

function parseInvocation(spec: CommandSpec, argv: string[]): Invocation | 'help' {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, { ...spec.options, help: helpOption });
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (bm ${spec.name})`, `Usage: ${usageLine(spec)}. See \`bm ${spec.name} --help\`.`);
  }
  const values = parsed.values;
  if (values.help) return 'help';
  const positionals = [...parsed.positionals];
  const args: Record<string, string | undefined> = {};
  let rest: string[] = [];
  for (const arg of spec.args ?? []) {
    if (arg.variadic) {
      rest = positionals.splice(0);
      if (arg.required && rest.length === 0) throw missingArg(spec, arg);
      continue;
    }
    const value = positionals.shift();
    if (value === undefined && arg.required) throw missingArg(spec, arg);
    args[arg.name] = value;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected argument '${positionals[0]}' (bm ${spec.name})`, `Usage: ${usageLine(spec)}.`);
  }
  return {
    args,
    rest,
    string: (name) => {
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    },
    flag: (name) => values[name] === true,
    list: (name) => {
      const v = values[name];
      return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
    },
  };
}

function missingArg(spec: CommandSpec, arg: ArgSpec): UsageError {
  return new UsageError(`Missing ${arg.name.toUpperCase()} (bm ${spec.name})`, `Usage: ${usageLine(spec)}.`);
}

/**
 * Where the subcommand sits in `argv`, allowing flags before it (`bm knowledge -t x list`): the
 * first token that is neither a flag nor the value of a flag that takes one in any subcommand.
 */
function subcommandIndex(group: GroupSpec, argv: readonly string[]): number {
  const takesValue = new Set<string>();
  for (const spec of [...group.subcommands, ...(group.fallback ? [group.fallback] : [])]) {
    for (const [name, option] of Object.entries(spec.options ?? {})) {
      if (option.type !== 'string') continue;
      takesValue.add(`--${name}`);
      if (option.short) takesValue.add(`-${option.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return -1;
    if (!argv[i].startsWith('-')) return i;
    if (takesValue.has(argv[i])) i++;
  }
  return -1;
}

function pickSubcommand(group: GroupSpec, argv: string[]): { spec: CommandSpec; argv: string[] } | 'help' {
  const verb = (s: CommandSpec) => s.name.split(' ').slice(1).join(' ');
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) {
    if (first === '-h' || first === '--help') return 'help';
    const at = subcommandIndex(group, argv);
    const match = at === -1 ? undefined : group.subcommands.find((s) => verb(s) === argv[at]);
    if (match) return { spec: match, argv: [...argv.slice(0, at), ...argv.slice(at + 1)] };
    if (!group.fallback) return 'help';
    return { spec: group.fallback, argv };
  }
  const match = group.subcommands.find((s) => verb(s) === first);
  if (match) return { spec: match, argv: argv.slice(1) };
  const names = group.subcommands.filter((s) => !s.hidden).map(verb);
  const guess = closest(first, names);
  throw new UsageError(
    `Unknown command 'bm ${group.name} ${first}'${guess ? `. Did you mean 'bm ${group.name} ${guess}'?` : ''}`,
    `Commands: ${names.join(', ')}.`,
  );
}

/** Parses `argv` (default: process arguments) against `spec` and runs it, mapping errors to exit codes. */
export async function runMain(spec: Spec, argv: string[] = process.argv.slice(2)): Promise<void> {
  try {
    let command: CommandSpec;
    let rest = argv;
    if ('subcommands' in spec) {
      const picked = pickSubcommand(spec, argv);
      if (picked === 'help') {
        out(groupHelp(spec));
        if (argv.length > 0 && !['-h', '--help'].includes(argv[0])) process.exitCode = EXIT.usage;
        return;
      }
      command = picked.spec;
      rest = picked.argv;
    } else {
      command = spec;
    }
    const invocation = parseInvocation(command, rest);
    if (invocation === 'help') {
      out(commandHelp(command));
      return;
    }
    await command.run(invocation);
  } catch (error) {
    // Under --json a script reads errors as JSON too, from stderr.
    write(2, `${argv.includes('--json') ? errorJson(error) : formatError(error)}\n`);
    if (!(error instanceof BmError) && process.env.BM_DEBUG) write(2, `${(error as Error).stack}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
