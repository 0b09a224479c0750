// Stand-in for ralph-orchestrator's `ralph` CLI in bm's tests: same argv surface, exit codes,
// signals and `.ralph/` files as the real program, but no agent and no network. Modes and knobs
// are described in README.md next to this file.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { die, isAlive, msKnob, record } from './common.mjs';

const VERSION = 'ralph 2.10.1-stub';
const MODES = ['persistent', 'oneshot', 'crash', 'ignore-sigterm', 'hats', 'hold'];
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];

// Option tables: [short, long, value name (null = flag), kind]. Kinds: 'repeat' may be given
// several times, 'num' must be an unsigned integer; anything else may appear once (clap's rule).
const GLOBAL_OPTS = [
  ['c', 'config', 'CONFIG', 'repeat'],
  ['H', 'hats', 'HATS'],
  ['v', 'verbose', null],
  [null, 'color', 'WHEN'],
  ['h', 'help', null],
  ['V', 'version', null],
];
const RUN_OPTS = [
  ['p', 'prompt', 'TEXT'],
  ['P', 'prompt-file', 'PATH'],
  ['b', 'backend', 'BACKEND'],
  [null, 'max-iterations', 'N', 'num'],
  [null, 'completion-promise', 'TEXT'],
  ['a', 'autonomous', null],
  [null, 'no-tui', null],
  [null, 'rpc', null],
  [null, 'idle-timeout', 'SECS', 'num'],
  [null, 'continue', null],
  [null, 'loop-id', 'ID'],
  [null, 'exclusive', null],
  [null, 'no-auto-merge', null],
  [null, 'skip-preflight', null],
  [null, 'dry-run', null],
  ['q', 'quiet', null],
  [null, 'record-session', 'FILE'],
];
const LOOPS_STOP_OPTS = [[null, 'force', null]];
const EMIT_OPTS = [[null, 'json', null], [null, 'ts', 'TS'], [null, 'file', 'PATH']];

class UsageError extends Error {}

/** Parses `tokens` against `specs`; unknown flags are usage errors when `strict`, else kept as positionals. */
function parseArgs(input, specs, strict) {
  const tokens = [...input];
  const byFlag = new Map();
  for (const spec of specs) {
    if (spec[0]) byFlag.set('-' + spec[0], spec);
    byFlag.set('--' + spec[1], spec);
  }
  const values = {};
  const positionals = [];
  let passthrough = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok === '--') {
      passthrough = tokens.slice(i + 1);
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      positionals.push(tok);
      continue;
    }
    let flag = tok;
    let inline;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      if (eq > 0) [flag, inline] = [tok.slice(0, eq), tok.slice(eq + 1)];
    } else if (tok.length > 2) {
      [flag, inline] = [tok.slice(0, 2), tok.slice(2)];
    }
    const spec = byFlag.get(flag);
    if (!spec) {
      if (strict) throw new UsageError(`unexpected argument '${tok}' found`);
      positionals.push(tok);
      continue;
    }
    const [, long, valueName, kind] = spec;
    const shown = valueName ? `--${long} <${valueName}>` : `--${long}`;
    let value = true;
    if (valueName) {
      value = inline !== undefined ? inline.replace(/^=/, '') : tokens[++i];
      if (value === undefined) throw new UsageError(`a value is required for '${shown}' but none was supplied`);
      if (kind === 'num' && !/^\d+$/.test(value)) {
        throw new UsageError(`invalid value '${value}' for '${shown}': invalid digit found in string`);
      }
    } else if (inline !== undefined) {
      // `-aq` is a cluster of short flags; `--flag=x` on a flag is an error.
      if (tok.startsWith('--')) throw new UsageError(`unexpected value '${inline}' for '${shown}' found`);
      tokens.splice(i + 1, 0, '-' + inline);
    }
    if (kind === 'repeat') (values[long] ??= []).push(value);
    else if (long in values) throw new UsageError(`the argument '${shown}' cannot be used multiple times`);
    else values[long] = value;
  }
  return { values, positionals, passthrough };
}

/** Splits argv into subcommand and its parsed arguments; no subcommand means `run`, as in ralph. */
function parseCommand(args) {
  const globalValueFlags = new Set(['-c', '--config', '-H', '--hats', '--color']);
  const globalFlags = new Set(['-v', '--verbose', '-h', '--help', '-V', '--version']);
  let sub = 'run';
  let rest = args;
  for (let i = 0; i < args.length; i++) {
    const tok = args[i];
    if (tok === '--') break;
    if (globalValueFlags.has(tok)) {
      i++;
      continue;
    }
    if (globalFlags.has(tok) || /^(--config|--hats|--color)=|^-[cH]./.test(tok)) continue;
    if (tok.startsWith('-')) break;
    sub = tok;
    rest = [...args.slice(0, i), ...args.slice(i + 1)];
    break;
  }
  if (sub === 'run') {
    const parsed = parseArgs(rest, [...GLOBAL_OPTS, ...RUN_OPTS], true);
    if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}' found`);
    if (parsed.values.prompt !== undefined && parsed.values['prompt-file'] !== undefined) {
      throw new UsageError("the argument '--prompt <TEXT>' cannot be used with '--prompt-file <PATH>'");
    }
    return { sub, ...parsed };
  }
  if (sub === 'loops' && rest.includes('stop')) {
    const parsed = parseArgs(rest, [...GLOBAL_OPTS, ...LOOPS_STOP_OPTS], true);
    if (parsed.positionals[0] === 'stop') {
      if (parsed.positionals.length > 2) throw new UsageError(`unexpected argument '${parsed.positionals[2]}' found`);
      return { sub, ...parsed };
    }
  }
  if (sub === 'emit') {
    const parsed = parseArgs(rest, [...GLOBAL_OPTS, ...EMIT_OPTS], true);
    if (!parsed.positionals[0]) throw new UsageError('the following required arguments were not provided: <TOPIC>');
    if (parsed.positionals.length > 2) throw new UsageError(`unexpected argument '${parsed.positionals[2]}' found`);
    return { sub, ...parsed };
  }
  return { sub, ...parseArgs(rest, GLOBAL_OPTS, false) };
}

function usageText(sub) {
  const name = sub === 'run' ? 'ralph run' : `ralph ${sub}`;
  return `Usage: ${name} [OPTIONS]\n\nFor more information, try '--help'.\n`;
}

const HELP = `ralph (test stub) - event loop around an AI coding agent

Usage: ralph [OPTIONS] [COMMAND]

Commands: run, loops (list|stop), hats, events, emit, bot status

Options:
  -c, --config <CONFIG>  Config file or core.field=value override (repeatable)
  -H, --hats <HATS>      Hat collection
  -v, --verbose          Verbose output
  -h, --help             Print help
  -V, --version          Print version
`;

// --- ralph.yml -------------------------------------------------------------------------------

function unquote(text) {
  const m = /^"(.*)"$|^'(.*)'$/.exec(text);
  return m ? (m[1] ?? m[2]) : text;
}

function stripComment(text) {
  const t = text.trim();
  const quoted = /^("[^"]*"|'[^']*')/.exec(t);
  if (quoted) return quoted[1];
  return t.replace(/\s+#.*$/, '').trim();
}

/**
 * Flattens the block mappings of a YAML document into `dotted.path -> text` (parents map to null,
 * list items appear as `[]`). Enough for the few ralph.yml keys the stub reads; block scalars are
 * skipped over so text inside hat instructions is never mistaken for a key.
 */
function flattenYaml(text) {
  const out = new Map();
  const stack = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(#.*)?$/.test(line) || /^(---|\.\.\.)\s*$/.test(line)) continue;
    const indent = line.search(/\S/);
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    let body = line.slice(indent);
    let column = indent;
    if (body === '-' || body.startsWith('- ')) {
      stack.push({ indent, key: '[]' });
      body = body.slice(1).trimStart();
      column = line.length - body.length;
      if (!body) continue;
    }
    const m = /^("[^"]*"|'[^']*'|[^\s:#"'][^:#]*?)\s*:(?:\s+(.*))?$/.exec(body);
    if (!m) continue;
    const key = unquote(m[1]);
    const path = [...stack.map((s) => s.key), key].join('.');
    const value = stripComment(m[2] ?? '');
    if (value === '') {
      out.set(path, null);
      stack.push({ indent: column, key });
    } else if (/^[|>][-+0-9]*$/.test(value)) {
      const block = [];
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > column)) {
        block.push(lines[++i]);
      }
      const cut = Math.min(...block.filter((l) => l.trim()).map((l) => l.search(/\S/)));
      out.set(path, block.map((l) => l.slice(cut)).join(value[0] === '>' ? ' ' : '\n').trim());
    } else {
      out.set(path, unquote(value));
    }
  }
  return out;
}

const isTrue = (v) => v === 'true' || v === 'True' || v === 'TRUE';

/** Primary config path: first `-c` that is not a `key=value` override, else $RALPH_CONFIG, else ./ralph.yml. */
function configPathOf(values) {
  const fromFlag = (values.config ?? []).find((c) => !/^[\w.]+=/.test(c));
  return resolve(fromFlag ?? (process.env.RALPH_CONFIG || 'ralph.yml'));
}

function loadConfig(path) {
  if (!existsSync(path)) {
    process.stderr.write(`WARN ralph: config file ${path} not found, using defaults\n`);
    return new Map();
  }
  return flattenYaml(readFileSync(path, 'utf8'));
}

/** Startup validation the real ralph performs before any agent runs (exit 1). */
function validateConfig(config) {
  if (config.has('project')) return "invalid config: unknown top-level key 'project'";
  for (const key of config.keys()) {
    const hat = /^hats\.([^.]+)$/.exec(key);
    if (hat && !config.get(`hats.${hat[1]}.description`)) return `invalid config: hat '${hat[1]}' is missing a description`;
  }
  const robot = config.get('RObot.enabled');
  if (isTrue(robot) && !process.env.RALPH_TELEGRAM_BOT_TOKEN && !config.get('RObot.telegram.bot_token')) {
    return 'RObot is enabled but no Telegram bot token is configured (set RALPH_TELEGRAM_BOT_TOKEN or RObot.telegram.bot_token)';
  }
  return null;
}

function modeOf(config) {
  if (existsSync('.ralph-stub-mode')) {
    const marker = readFileSync('.ralph-stub-mode', 'utf8').trim();
    if (marker) return marker;
  }
  if (process.env.STUB_RALPH_MODE) return process.env.STUB_RALPH_MODE;
  const persistent = config.get('event_loop.persistent') ?? config.get('persistent');
  return isTrue(persistent) ? 'persistent' : 'oneshot';
}

// --- run ------------------------------------------------------------------------------------

const stamp = (d) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

function appendEvent(file, topic, payload) {
  appendFileSync(file, JSON.stringify({ topic, payload, ts: new Date().toISOString() }) + '\n');
}

function writeSummary(status) {
  mkdirSync('.ralph/agent', { recursive: true });
  writeFileSync('.ralph/agent/summary.md', `# Loop summary\n\nStatus: ${status}\nEnded: ${new Date().toISOString()}\n`);
}

/** Ends the loop the way ralph does: summary written, compatibility pid file removed, lock file kept. */
function finish(code, status) {
  writeSummary(status);
  rmSync('.ralph-stub-pid', { force: true });
  process.exit(code);
}

function installSignals(mode) {
  if (mode === 'crash') return;
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      if (mode === 'ignore-sigterm') {
        appendFileSync('.ralph-stub-sigterm.log', `${new Date().toISOString()} ${sig} ignored\n`);
        return;
      }
      finish(msKnob('STUB_RALPH_SIGTERM_EXIT', 130), 'Interrupted');
    });
  }
}

/** Resolves the objective like ralph: -p text > -P file > event_loop.prompt > event_loop.prompt_file. */
function promptOf(values, config) {
  if (values.prompt !== undefined) return values.prompt;
  const inline = config.get('event_loop.prompt');
  const file = values['prompt-file'] ?? (inline ? undefined : config.get('event_loop.prompt_file') || 'PROMPT.md');
  if (file === undefined) return inline;
  if (!existsSync(file)) die(1, `Error: prompt file not found: ${resolve(file)}`);
  return readFileSync(file, 'utf8');
}

/**
 * `STUB_RALPH_CHILD=group` starts a child that stays in the stub's process group when the stub
 * ends (as an agent's tool that was never waited for); `setsid` starts one in a session of its
 * own (an agent that daemonised). Either way its pid is appended to `.ralph-stub-children`.
 */
function leaveChild() {
  const how = process.env.STUB_RALPH_CHILD;
  if (how !== 'group' && how !== 'setsid') return;
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { detached: how === 'setsid', stdio: 'ignore' });
  child.unref();
  appendFileSync('.ralph-stub-children', `${child.pid}\n`);
}

function run({ values }) {
  const configPath = configPathOf(values);
  const config = loadConfig(configPath);
  const mode = modeOf(config);
  installSignals(mode);
  record('ralph', {
    promptFile: values['prompt-file'] ?? null,
    promptText: values.prompt ?? null,
    configPath,
    mode,
  });
  failIfAsked(['run']);
  if (!MODES.includes(mode)) die(1, `stub ralph: unknown mode '${mode}' (expected one of ${MODES.join(', ')})`);
  const invalid = validateConfig(config);
  if (invalid) die(1, `Error: ${invalid}`);
  const prompt = promptOf(values, config);
  if (values['dry-run']) {
    process.stdout.write(`Dry run: config ${configPath}, mode ${mode}; not starting the loop\n`);
    process.exit(0);
  }

  mkdirSync('.ralph', { recursive: true });
  const lockPath = '.ralph/loop.lock';
  if (existsSync(lockPath)) {
    let holder = 0;
    try {
      holder = JSON.parse(readFileSync(lockPath, 'utf8')).pid;
    } catch {
      // An unreadable lock is stale.
    }
    if (holder !== process.pid && isAlive(holder)) die(1, `Error: another loop is running in ${process.cwd()} (PID ${holder})`);
  }
  const now = new Date();
  writeFileSync('.ralph/current-loop-id', `primary-${stamp(now)}`);
  const eventsFile = `.ralph/events-${stamp(now)}.jsonl`;
  writeFileSync('.ralph/current-events', eventsFile);
  appendEvent(eventsFile, values.continue ? 'task.resume' : 'task.start', prompt);
  writeFileSync('.ralph-stub-pid', `${process.pid}\n`);
  const envLines = Object.keys(process.env)
    .filter((k) => /^(RALPH_.*|GH_TOKEN|GH_CONFIG_DIR)$/.test(k))
    .sort()
    .map((k) => `${k}=${process.env[k]}\n`);
  writeFileSync('.ralph-stub-env', envLines.join(''));
  leaveChild();
  // The lock comes last and whole (tmp + rename): once it names this pid, start-up is complete.
  writeFileSync(`${lockPath}.${process.pid}.tmp`, JSON.stringify({ pid: process.pid, started: now.toISOString(), prompt: prompt.slice(0, 100) }));
  renameSync(`${lockPath}.${process.pid}.tmp`, lockPath);

  const tick = Math.max(1, msKnob('STUB_RALPH_TICK_MS', 100));
  const exitCode = msKnob('STUB_RALPH_EXIT', mode === 'crash' ? 1 : 0);
  if (mode === 'crash') {
    setTimeout(() => process.exit(exitCode), msKnob('STUB_RALPH_DELAY_MS', 0));
    return;
  }
  let stopping = false;
  // Between iterations ralph honours `ralph loops stop`; the iteration in progress finishes first.
  const timer = setInterval(() => {
    if (stopping || !existsSync('.ralph/stop-requested')) return;
    stopping = true;
    rmSync('.ralph/stop-requested', { force: true });
    setTimeout(() => finish(1, 'Stopped'), msKnob('STUB_RALPH_STOP_DELAY_MS', 0));
  }, tick);
  if (mode === 'persistent' || mode === 'ignore-sigterm') return;
  if (mode === 'hats') {
    clearInterval(timer);
    void runHats(configPath, prompt, eventsFile).then(
      () => finish(0, 'Completed'),
      (error) => {
        process.stderr.write(`Error: ${error.message}\n`);
        finish(1, 'Failed');
      },
    );
    return;
  }
  if (mode === 'hold') {
    // A run that lasts until the test removes `.ralph-stub-mode`: its length is the test's, whatever the load.
    const hold = setInterval(() => {
      if (stopping || existsSync('.ralph-stub-mode')) return;
      clearInterval(hold);
      clearInterval(timer);
      appendEvent(eventsFile, 'LOOP_COMPLETE', '');
      finish(0, 'Completed');
    }, tick);
    return;
  }
  setTimeout(() => {
    if (stopping) return;
    clearInterval(timer);
    appendEvent(eventsFile, 'LOOP_COMPLETE', '');
    finish(exitCode, exitCode === 0 ? 'Completed' : `Ended (exit ${exitCode})`);
  }, msKnob('STUB_RALPH_DELAY_MS', 200));
}

/**
 * `hats` mode: the agent does what the hats tell it, as ralph and Claude would. From
 * `event_loop.starting_event`, the hat triggered by the current event reads its instructions
 * (and the file they say to follow), runs the one command they say to run, in the loop's
 * directory, and publishes the event they name for the exit code it got; the loop ends on the
 * completion promise. What the real loop would trip on fails the run (exit 1, why on stderr):
 * no hat or several for an event, instructions without a command or an event, an instructions
 * file that names another trigger, an event the hat does not declare in `publishes`, a command
 * or event the prompt never mentions (the agent would not know the workflow), and more
 * iterations than `event_loop.max_iterations`. Uses the `yaml` package (ralph.yml's flow lists).
 */
async function runHats(configPath, prompt, eventsFile) {
  const { parse } = await import('yaml');
  const config = parse(readFileSync(configPath, 'utf8')) ?? {};
  const loop = config.event_loop ?? {};
  const hats = Object.entries(config.hats ?? {});
  const done = loop.completion_promise ?? 'LOOP_COMPLETE';
  const max = loop.max_iterations ?? 100;
  let event = loop.starting_event;
  if (!event) throw new Error(`${configPath} has no event_loop.starting_event`);
  for (let iteration = 1; event !== done; iteration++) {
    if (iteration > max) throw new Error(`no ${done} after ${max} iterations`);
    const triggered = hats.filter(([, hat]) => (hat.triggers ?? []).includes(event));
    if (triggered.length !== 1) throw new Error(`event '${event}' triggers ${triggered.length ? `${triggered.length} hats (${triggered.map(([id]) => id).join(', ')})` : 'no hat'}`);
    const [id, hat] = triggered[0];
    let instructions = String(hat.instructions ?? '');
    const followed = /Follow (\S+\.md)/.exec(instructions);
    if (followed) instructions += `\n${readFileSync(followed[1], 'utf8')}`;
    const declared = /Triggered by `([^`]+)`/.exec(instructions)?.[1];
    if (declared && declared !== event) throw new Error(`hat ${id}'s instructions say it is triggered by '${declared}', but it ran on '${event}'`);
    const command = /Run `([^`]+)`/.exec(instructions)?.[1];
    if (!command) throw new Error(`hat ${id}'s instructions name no command to run`);
    if (!prompt.includes(command)) throw new Error(`the prompt never mentions \`${command}\` (hat ${id})`);
    process.stderr.write(`[stub ralph] iteration ${iteration}: hat ${id} on ${event}: ${command}\n`);
    const ran = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] });
    const code = ran.status ?? 1;
    const rule = code === 0 ? /Exit code 0: (?:emit|finish with) `([^`]+)`/ : /Otherwise[^`]*?(?:emit|finish with) `([^`]+)`/;
    const next = rule.exec(instructions)?.[1];
    if (!next) throw new Error(`hat ${id}'s instructions say nothing to publish after exit code ${code}`);
    // The completion promise ends the loop from any hat; every other event must be declared.
    if (next !== done && !(hat.publishes ?? []).includes(next)) throw new Error(`hat ${id} published '${next}', which is not in its publishes (${(hat.publishes ?? []).join(', ')})`);
    if (next !== done && !prompt.includes(next)) throw new Error(`the prompt never mentions the event '${next}'`);
    appendEvent(eventsFile, next, `${id}: \`${command}\` exited ${code}`);
    event = next;
  }
}

// --- other subcommands ------------------------------------------------------------------------

/** STUB_RALPH_FAIL_<SUB>=1 (or _<SUB>_<ACTION>, e.g. BOT_STATUS) makes that subcommand exit 1. */
function failIfAsked(words) {
  const names = words.map((_, i) => 'STUB_RALPH_FAIL_' + words.slice(0, i + 1).join('_').toUpperCase().replace(/[^A-Z0-9_]/g, '_'));
  const hit = names.find((n) => process.env[n] && process.env[n] !== '0');
  if (hit) die(1, `Error: stub ralph failing on purpose (${hit}=${process.env[hit]})`);
}

function loopsStop({ values, positionals }) {
  const label = positionals[1] ?? '(primary)';
  const lockPath = '.ralph/loop.lock';
  if (!existsSync(lockPath)) die(1, `Error: Cannot determine active loop: no ${lockPath} in ${process.cwd()}`);
  let pid = 0;
  try {
    pid = JSON.parse(readFileSync(lockPath, 'utf8')).pid;
  } catch {
    die(1, `Error: Cannot determine active loop: ${lockPath} is unreadable`);
  }
  if (!isAlive(pid)) die(1, `Error: Loop '${label}' is not running (PID ${pid})`);
  if (values.force) {
    process.kill(pid, 'SIGKILL');
    process.stdout.write(`Killed loop '${label}' (PID ${pid})\n`);
    return;
  }
  writeFileSync('.ralph/stop-requested', '');
  process.stdout.write(`Stop requested for loop '${label}' (PID ${pid}); it will stop at the next iteration boundary\n`);
}

function emit({ values, positionals }) {
  const [topic, payload = ''] = positionals;
  let data = payload;
  if (values.json) {
    try {
      data = JSON.parse(payload || 'null');
    } catch {
      die(1, `Error: payload is not valid JSON: ${payload}`);
    }
  }
  let file = values.file ?? process.env.RALPH_EVENTS_FILE;
  if (!file && existsSync('.ralph/current-events')) file = readFileSync('.ralph/current-events', 'utf8').trim();
  file ||= '.ralph/events.jsonl';
  mkdirSync(resolve(file, '..'), { recursive: true });
  const ts = typeof values.ts === 'string' ? values.ts : new Date().toISOString();
  appendFileSync(file, JSON.stringify({ topic, payload: data, ts }) + '\n');
  process.stdout.write(`Event emitted: ${topic}\n`);
}

/** Fixed one-line answers for the read-only commands `bm status -v` runs. */
function readOnly(sub, { values, positionals }) {
  const json = values.json || positionals.includes('--json') || positionals.includes('json');
  const lines = {
    loops: json ? '[{"id":"(primary)","status":"running"}]' : 'ID         STATUS   PROMPT  (stub)',
    hats: positionals[0] === 'validate' ? 'Configuration is valid (stub)' : 'ralph  triggers: task.start  publishes: LOOP_COMPLETE  (stub)',
    events: json ? '[]' : 'No events recorded (stub)',
    bot: 'Bot: not configured (stub)',
  };
  process.stdout.write(lines[sub] + '\n');
}

function main() {
  let cmd;
  try {
    cmd = parseCommand(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    record('ralph');
    const sub = process.argv.slice(2).find((t) => !t.startsWith('-')) ?? 'run';
    die(2, `error: ${err.message}\n\n${usageText(sub)}`);
  }
  if (cmd.values.version) {
    record('ralph');
    process.stdout.write(VERSION + '\n');
    return;
  }
  if (cmd.values.help || cmd.sub === 'help') {
    record('ralph');
    process.stdout.write(HELP);
    return;
  }
  if (cmd.sub === 'run') return run(cmd);
  record('ralph');
  failIfAsked([cmd.sub, ...cmd.positionals.slice(0, 1).filter((p) => /^[a-z][\w-]*$/.test(p))]);
  if (cmd.sub === 'loops' && cmd.positionals[0] === 'stop') return loopsStop(cmd);
  if (cmd.sub === 'emit') return emit(cmd);
  if (cmd.sub === 'loops' && cmd.positionals[0] && cmd.positionals[0] !== 'list') return;
  if (['loops', 'hats', 'events'].includes(cmd.sub) || (cmd.sub === 'bot' && cmd.positionals[0] === 'status')) {
    readOnly(cmd.sub, cmd);
  }
}

main();
