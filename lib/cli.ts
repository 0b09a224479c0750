/**
 * A small declarative command layer on top of `node:util` parseArgs.
 *
 * Each script declares its command (arguments, flags, examples) and calls `runMain` when it is
 * the entry point. The same declarations drive `--help`, usage errors and shell completions.
 * parseArgs is built in, strict about unknown flags and loads in no time under Node and Deno,
 * which keeps `bm` start-up close to bare runtime start-up.
 */
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closest } from './suggest.mjs';
import { BmError, EXIT, UsageError, exitCodeOf, formatError, out, style } from './output.ts';

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
const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

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
 * bundled several scripts into shared chunks), or run directly with tsx or Deno.
 */
export function isMain(meta: ImportMeta, spec: Spec): boolean {
  const launched = (globalThis as { bmEntryCommand?: string }).bmEntryCommand;
  if (launched !== undefined) return launched === spec.name.split(' ')[0];
  const entry = process.argv[1];
  if (!entry) return false;
  const stem = (p: string) => path.basename(p).replace(/\.(ts|mjs|js)$/, '');
  return stem(entry) === stem(fileURLToPath(meta.url));
}

function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => {
    const label = a.name.toUpperCase() + (a.variadic ? '...' : '');
    return a.required ? label : `[${label}]`;
  });
  const hasFlags = Object.values(spec.options ?? {}).some((o) => !o.hidden);
  return ['bm', spec.name, ...args, ...(hasFlags ? ['[flags]'] : [])].join(' ');
}

function flagLabel(name: string, option: OptionSpec): string {
  const long = `--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : `    ${long}`;
}

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
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

function parseInvocation(spec: CommandSpec, argv: string[]): Invocation | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new UsageError(`${message} (bm ${spec.name})`, `Usage: ${usageLine(spec)}. See \`bm ${spec.name} --help\`.`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
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

function pickSubcommand(group: GroupSpec, argv: string[]): { spec: CommandSpec; argv: string[] } | 'help' {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) {
    if (first === '-h' || first === '--help' || !group.fallback) return 'help';
    return { spec: group.fallback, argv };
  }
  const verb = (s: CommandSpec) => s.name.split(' ').slice(1).join(' ');
  const match = group.subcommands.find((s) => verb(s) === first);
  if (match) return { spec: match, argv: rest };
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
    process.stderr.write(`${formatError(error)}\n`);
    if (!(error instanceof BmError) && process.env.BM_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
