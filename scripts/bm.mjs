#!/usr/bin/env node
// The `bm` launcher: `bm <command> ...` runs scripts/<command>.ts in this same process, from the
// compile cache when it is fresh (see lib/compile-cache.mjs), else from the TypeScript source:
// natively under Deno, through tsx under Node.
//
// Under Deno this file touches no `node:` module and not the `process` global: loading Deno's
// Node layer would cost more than the whole command (the compiled scripts use lib/deno-shims).
import { closest } from '../lib/suggest.mjs';

const deno = globalThis.Deno;
const ROOT = decodeURIComponent(new URL('..', import.meta.url).pathname).replace(/\/$/, '');

/** Every command with its one-line summary, in the order `bm --help` lists them. */
const COMMANDS = [
  ['init', 'Create a team from a profile: team repo, GitHub repo, labels and board'],
  ['hire', 'Hire a member: a role instance in the team repo'],
  ['fire', 'Fire a member: remove its directory from the team repo'],
  ['teams', 'List, show and sync teams (sync provisions member workspaces)'],
  ['members', 'List and show the team\'s members'],
  ['roles', 'List the roles a team can hire'],
  ['profiles', 'List and describe the built-in team profiles'],
  ['projects', 'Add, list and remove the code repositories the team works on'],
  ['knowledge', 'List, show, search and edit the team\'s knowledge and invariants'],
  ['upgrade', 'Migrate a team repo to schema v2 (adds skills/ and formations/)'],
  ['start', 'Start members: one ralph loop per member workspace'],
  ['stop', 'Stop running members (graceful, then SIGTERM, then SIGKILL)'],
  ['status', 'Show the team\'s members and whether each one runs'],
  ['logs', 'Print or follow a member\'s log'],
  ['daemon', 'Start, stop and inspect the daemon that wakes members on GitHub events'],
  ['inbox', 'List what waits for you: members\' questions and human-gate approvals'],
  ['answer', 'Answer a member\'s question: comment, clear needs-human, wake the member'],
  ['approve', 'Approve an item waiting in a human gate: it moves on'],
  ['reject', 'Reject an item waiting in a human gate: it goes back, with your reason'],
  ['chat', 'Talk with a member: Claude Code in its workspace, with its role context'],
  ['console', 'Show the team live in a browser: members, daemon, journal; start and stop'],
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

function setExitCode(code) {
  if (deno) deno.exitCode = code;
  else globalThis.process.exitCode = code;
}

/** Runs scripts/<command>.ts with `args` as its arguments. */
async function runScript(command, args) {
  const script = `${ROOT}/scripts/${command}.ts`;
  const argv = [deno ? deno.execPath() : globalThis.process.argv[0], script, ...args];
  // Tells lib/cli.ts isMain() which command to run: bundled chunks cannot tell by file name.
  globalThis.bmEntryCommand = command;
  const { compiledCommand, envVar, fileUrl, runCompiled } = await import('../lib/compile-cache.mjs');
  const compiled = await compiledCommand(ROOT, command);
  if (envVar('BM_DEBUG')) console.error(`bm debug: running ${command} from ${compiled ?? 'the TypeScript source'}`);
  if (compiled) {
    // Read by lib/deno-shims/node-process.mjs, which stands in for `process` in the Deno build.
    if (deno) globalThis.bmEntryArgv = argv;
    else globalThis.process.argv = argv;
    return runCompiled(compiled);
  }
  globalThis.process.argv = argv;
  if (!deno) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  return import(fileUrl(script));
}

const [command, ...rest] = deno ? deno.args : globalThis.process.argv.slice(2);
if (command === undefined || command === '-h' || command === '--help') {
  console.log(overview());
} else if (command === '--version' || command === '-V') {
  const { readFileSync } = await import('node:fs');
  console.log(`bm ${JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version}`);
} else {
  const known = COMMANDS.map(([name]) => name);
  const target = command === 'help' && rest[0] ? rest[0] : command;
  if (!known.includes(target)) {
    const guess = closest(target, known);
    console.error(`Error: unknown command '${target}'.${guess ? ` Did you mean 'bm ${guess}'?` : ''} Run \`bm --help\` for the list.`);
    setExitCode(2);
  } else {
    await runScript(target, command === 'help' ? ['--help'] : rest);
  }
}
