#!/usr/bin/env node
// The `bm` launcher: `bm <command> ...` runs scripts/<command>.ts in this same process.
// Under Deno the script is imported natively; under Node the compiled cache is used when fresh
// (see lib/compile-cache.mjs), else tsx is registered first.
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { closest } from '../lib/suggest.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Every command with its one-line summary, in the order `bm --help` lists them. */
const COMMANDS = [
  ['init', 'Create a team from a profile: team repo, GitHub repo, labels and board'],
  ['hire', 'Hire a member: a role instance in the team repo'],
  ['fire', 'Fire a member: remove its directory from the team repo'],
  ['teams', 'List, show and sync teams (sync provisions member workspaces)'],
  ['members', 'List and show the team\'s members'],
  ['roles', 'List the roles a team can hire'],
  ['profiles', 'List and describe the built-in team profiles'],
  ['projects', 'Add and list the code repositories the team works on'],
  ['knowledge', 'List, show, search and edit the team\'s knowledge and invariants'],
  ['upgrade', 'Migrate a team repo to schema v2 (adds skills/ and formations/)'],
  ['start', 'Start members: one ralph loop per member workspace'],
  ['stop', 'Stop running members (graceful, then SIGTERM, then SIGKILL)'],
  ['status', 'Show the team\'s members and whether each one runs'],
  ['logs', 'Print or follow a member\'s log'],
  ['daemon', 'Start, stop and inspect the daemon that wakes members on GitHub events'],
  ['completions', 'Print a shell completion script (bash, zsh, fish)'],
];

function overview() {
  const width = Math.max(...COMMANDS.map(([name]) => name.length));
  return [
    'bm: run a team of AI coding agents on a GitHub board.',
    '',
    'Usage: bm <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map(([name, summary]) => `  ${name.padEnd(width)}   ${summary}`),
    '',
    'Global flags: -t/--team TEAM on team commands, --json on list/show/status commands.',
    'Environment: BM_HOME (default ~/.botminter), GH_TOKEN, BM_GITHUB_API_URL.',
    'Run `bm <command> --help` for the flags and an example of each command.',
  ].join('\n');
}

async function importScript(script, command) {
  if (typeof globalThis.Deno === 'undefined') {
    const { compiledCommand } = await import('../lib/compile-cache.mjs');
    const compiled = await compiledCommand(ROOT, command);
    if (compiled) return import(compiled);
    const { register } = await import('tsx/esm/api');
    register();
  }
  return import(pathToFileURL(script).href);
}

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === '-h' || command === '--help') {
  console.log(overview());
} else if (command === '--version' || command === '-V') {
  const { readFileSync } = await import('node:fs');
  console.log(`bm ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}`);
} else {
  const known = COMMANDS.map(([name]) => name);
  const target = command === 'help' && rest[0] ? rest[0] : command;
  const script = path.join(ROOT, 'scripts', `${target}.ts`);
  if (!known.includes(target) || !existsSync(script)) {
    const guess = closest(target, known);
    console.error(`Error: unknown command '${target}'.${guess ? ` Did you mean 'bm ${guess}'?` : ''} Run \`bm --help\` for the list.`);
    process.exitCode = 2;
  } else {
    process.argv = [process.argv[0], script, ...(command === 'help' ? ['--help'] : rest)];
    // Tells lib/cli.ts isMain() which command to run: bundled chunks cannot tell by file name.
    globalThis.bmEntryCommand = target;
    await importScript(script, target);
  }
}
