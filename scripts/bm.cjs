#!/usr/bin/env node
// The `bm` launcher: `bm <command> ...` runs the command in this same process. Under Node that is
// dist/commands/<command>.cjs, bundled from scripts/<command>.ts at install time (tasks/build.mjs), with
// Node's compile cache; under Deno it is scripts/<command>.ts itself.
//
// CommonJS, like the bundles, because a command that never touches an ES module skips Node's ES
// module loader, and the ES module view of the built-in modules it would build (about a tenth of
// `node -e 0` at every start).
'use strict';

const deno = globalThis.Deno;
const ROOT = require('node:path').resolve(__dirname, '..');

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
  ['attach', 'Watch a member live: join its tmux window, or follow its output'],
  ['daemon', 'Start, stop and inspect the daemon that wakes members on GitHub events'],
  ['inbox', 'List what waits for you: members\' questions and human-gate approvals'],
  ['answer', 'Answer a member\'s question: comment, clear needs-human, wake the member'],
  ['approve', 'Approve an item waiting in a human gate: it moves on'],
  ['reject', 'Reject an item waiting in a human gate: it goes back, with your reason'],
  ['chat', 'Talk with a member: Claude Code in its workspace, with its role context'],
  ['console', 'Show the team live in a browser: members, daemon, inbox, board; start and stop'],
  ['completions', 'Print a shell completion script (bash, zsh, fish)'],
];

function overview() {
  const width = Math.max(...COMMANDS.map(([name]) => name.length));
  return [
    'bm: run a team of AI coding agents on a GitHub board.',
    '',
    'Usage: bm [-t TEAM] <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map(([name, summary]) => `  ${name.padEnd(width)}   ${summary}`),
    `  ${'help'.padEnd(width)}   Show this overview, or \`bm help <command>\` for a command's flags and examples`,
    '',
    'Global flags: -t/--team TEAM on team commands, --json on list/show/status commands.',
    'Environment: BM_HOME (default ~/.botminter), GH_TOKEN, BM_GITHUB_API_URL, NO_COLOR, FORCE_COLOR.',
    'Run `bm <command> --help` for the flags and an example of each command.',
  ].join('\n');
}

const env = (name) => (deno ? deno.env.get(name) : globalThis.process.env[name]);

/** Prints a line on stdout; under Node straight to the descriptor, as lib/output.ts does, and why. */
function print(text) {
  if (deno) return console.log(text);
  try {
    require('node:fs').writeSync(1, `${text}\n`);
  } catch (error) {
    if (error?.code !== 'EPIPE') throw error;
  }
}

function setExitCode(code) {
  if (deno) deno.exitCode = code;
  else globalThis.process.exitCode = code;
}

/**
 * The global flags given before the command (`bm -t beta --json status`), moved after it, where
 * the command's own parser reads them.
 */
function splitGlobals(argv) {
  const globals = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i];
    if (token === '-t' || token === '--team') {
      if (argv[i + 1] === undefined) break;
      globals.push(token, argv[++i]);
    } else if (/^(-t.|--team=)/.test(token) || token === '--json') {
      globals.push(token);
    } else {
      break;
    }
  }
  return { globals, command: argv[i], rest: [...globals, ...argv.slice(i + 1)] };
}

/** Runs the command in this process, with `args` as its arguments. */
async function runCommand(command, args) {
  // Tells lib/cli.ts isMain() which command to run: one bundle holds every script it imports.
  globalThis.bmEntryCommand = command;
  const script = `${ROOT}/scripts/${command}.ts`;
  if (deno) {
    globalThis.process.argv = [deno.execPath(), script, ...args];
    return import(script);
  }
  const process = globalThis.process;
  process.argv = [process.argv[0], script, ...args];
  // @speed-only-begin: Node keeps the compiled code of the bundle and its packages between runs.
  const cache = env('XDG_CACHE_HOME') || `${env('HOME') || require('node:os').homedir()}/.cache`;
  require('node:module').enableCompileCache?.(`${cache}/bm/node-compile-cache`);
  // @speed-only-end
  const bundle = `${ROOT}/dist/commands/${command}.cjs`;
  try {
    return require(bundle);
  } catch (error) {
    if (error?.code !== 'MODULE_NOT_FOUND' || !String(error.message).includes(bundle)) throw error;
    console.error(`Error: bm is not built (${bundle} is missing). Run \`npm run build\` in ${ROOT}.`);
    setExitCode(1);
  }
}

/** A usage error of the launcher's own, as lib/output.ts prints errors: JSON under --json. */
async function unknownCommand(name, json) {
  const { closest } = await import('../lib/suggest.mjs');
  const guess = closest(name, COMMANDS.map(([n]) => n));
  const message = `Unknown command '${name}'${guess ? `. Did you mean 'bm ${guess}'?` : '.'}`;
  const hint = 'Run `bm --help` for the list.';
  console.error(json ? JSON.stringify({ error: { message, hint, exitCode: 2 } }) : `Error: ${message} ${hint}`);
  setExitCode(2);
}

async function main(argv) {
  const { globals, command, rest } = splitGlobals(argv);
  const known = new Set(COMMANDS.map(([name]) => name));
  const json = argv.includes('--json');
  if (command === undefined || command === '-h' || command === '--help' || (command === 'help' && rest.length === globals.length)) {
    print(overview());
  } else if (command === '--version' || command === '-V') {
    const { readFileSync } = require('node:fs');
    print(`bm ${JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version}`);
  } else if (command === 'help') {
    // `bm help teams sync` is `bm teams sync --help`.
    const [target, ...more] = rest.slice(globals.length);
    if (known.has(target)) await runCommand(target, [...more, '--help']);
    else await unknownCommand(target, json);
  } else if (known.has(command)) {
    await runCommand(command, rest);
  } else {
    await unknownCommand(command, json);
  }
}

module.exports = { COMMANDS, overview, main };

// Imported (by tasks/docs.ts, for COMMANDS) it runs nothing.
if (require.main === module) void main(deno ? deno.args : globalThis.process.argv.slice(2));
