// Stand-in for the Claude Code CLI (`claude`) in bm's tests: same flags, print/interactive modes,
// nesting guard, exit codes and signals as the real program, with canned answers. Modes and knobs
// are described in README.md next to this file.
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { die, msKnob, record } from './common.mjs';

const VERSION = '2.1.0 (Claude Code stub)';
const SUBCOMMANDS = new Set(['mcp', 'plugin', 'config', 'doctor', 'update', 'install', 'setup-token', 'migrate-installer']);

// Canonical option names; short forms and kebab aliases map onto them.
const ALIASES = {
  '-p': '--print', '-c': '--continue', '-r': '--resume', '-h': '--help', '-v': '--version', '-d': '--debug',
  '--allowed-tools': '--allowedTools', '--disallowed-tools': '--disallowedTools',
};
const FLAGS = new Set([
  '--print', '--verbose', '--debug', '--dangerously-skip-permissions', '--allow-dangerously-skip-permissions',
  '--strict-mcp-config', '--bare', '--no-session-persistence', '--continue', '--include-partial-messages',
  '--fork-session', '--ide', '--help', '--version',
]);
const VALUED = new Set([
  '--append-system-prompt', '--append-system-prompt-file', '--system-prompt', '--system-prompt-file',
  '--output-format', '--input-format', '--permission-mode', '--model', '--fallback-model', '--max-turns',
  '--max-budget-usd', '--settings', '--setting-sources', '--mcp-config', '--resume', '--session-id', '--agent',
  '--agents', '--permission-prompt-tool', '--json-schema',
]);
// Variadic like commander's `<items...>`: values run until the next token starting with `-`.
const VARIADIC = new Set(['--add-dir', '--allowedTools', '--disallowedTools', '--tools', '--betas']);
const CHOICES = {
  '--output-format': ['text', 'json', 'stream-json'],
  '--input-format': ['text', 'stream-json'],
  '--permission-mode': ['acceptEdits', 'bypassPermissions', 'default', 'dontAsk', 'plan', 'auto'],
};

class ParseError extends Error {}

/** Commander-style parse: returns {opts, positionals}; throws ParseError with commander's wording. */
function parse(args) {
  const opts = {};
  const positionals = [];
  for (let i = 0; i < args.length; i++) {
    const tok = args[i];
    if (tok === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      positionals.push(tok);
      continue;
    }
    let name = tok;
    let inline;
    const eq = tok.indexOf('=');
    if (tok.startsWith('--') && eq > 0) [name, inline] = [tok.slice(0, eq), tok.slice(eq + 1)];
    name = ALIASES[name] ?? name;
    if (!tok.startsWith('--') && tok.length > 2) {
      // A cluster of short booleans (`-pc`), or a short option with its value attached (`-rID`).
      const first = ALIASES[tok.slice(0, 2)];
      if (VALUED.has(first)) [name, inline] = [first, tok.slice(2)];
      else if ([...tok.slice(1)].every((ch) => FLAGS.has(ALIASES['-' + ch]))) {
        for (const ch of tok.slice(1)) opts[ALIASES['-' + ch].slice(2)] = true;
        continue;
      }
    }
    const key = name.slice(2);
    if (FLAGS.has(name)) {
      opts[key] = true;
    } else if (VALUED.has(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new ParseError(`option '${name} <value>' argument missing`);
      if (CHOICES[name] && !CHOICES[name].includes(value)) {
        throw new ParseError(`option '${name} <value>' argument '${value}' is invalid. Allowed choices are ${CHOICES[name].join(', ')}.`);
      }
      opts[key] = value;
    } else if (VARIADIC.has(name)) {
      const values = [];
      if (inline !== undefined) values.push(inline);
      else while (i + 1 < args.length && !args[i + 1].startsWith('-')) values.push(args[++i]);
      if (!values.length) throw new ParseError(`option '${name} <values...>' argument missing`);
      opts[key] = [...(opts[key] ?? []), ...values];
    } else {
      throw new ParseError(`unknown option '${tok}'`);
    }
  }
  return { opts, positionals };
}

/** Copies a prompt file at startup: bm deletes its temp file as soon as claude exits. */
function snapshot(path) {
  const abs = resolve(path);
  if (!existsSync(abs)) return { path: abs, text: null, sha256: null };
  const text = readFileSync(abs, 'utf8');
  return { path: abs, text, sha256: createHash('sha256').update(text).digest('hex') };
}

/** Names of the skills Claude Code would load: `<dir>/.claude/skills/<name>/SKILL.md`. */
function skillsIn(dir) {
  const root = join(dir, '.claude', 'skills');
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const names = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(root, entry.name, 'SKILL.md');
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const front = /^---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(text);
    // An unterminated frontmatter block is invalid YAML: the real CLI silently skips the skill.
    if (!front && text.startsWith('---')) continue;
    const name = front && /^name:\s*["']?([^"'\r\n#]+?)["']?\s*$/m.exec(front[1]);
    names.push(name ? name[1] : entry.name);
  }
  return names;
}

function readStdin(limitMs) {
  return new Promise((done) => {
    const chunks = [];
    const timer = limitMs > 0 ? setTimeout(() => done(Buffer.concat(chunks).toString('utf8')), limitMs) : null;
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => {
      if (timer) clearTimeout(timer);
      done(Buffer.concat(chunks).toString('utf8'));
    });
    process.stdin.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** STUB_CLAUDE_RUN: a shell command run in cwd as the "work" of the session; its status is ignored. */
function sideEffect() {
  const cmd = process.env.STUB_CLAUDE_RUN;
  if (cmd) spawnSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 2, 2] });
}

function printResult(opts, exitCode) {
  const response = process.env.STUB_CLAUDE_RESPONSE ?? 'stub response';
  const sessionId = opts['session-id'] ?? randomUUID();
  const result = {
    type: 'result', subtype: exitCode === 0 ? 'success' : 'error_during_execution', is_error: exitCode !== 0,
    result: response, session_id: sessionId, total_cost_usd: 0, num_turns: 1,
  };
  const format = opts['output-format'] ?? 'text';
  if (format === 'text') process.stdout.write(response + '\n');
  else if (format === 'json') process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const lines = [
      { type: 'system', subtype: 'init', session_id: sessionId, cwd: process.cwd(), model: opts.model ?? 'stub', tools: [] },
      { type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: response }] }, session_id: sessionId },
      result,
    ];
    process.stdout.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
  }
}

async function main() {
  process.on('SIGTERM', () => process.exit(143));
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGHUP', () => process.exit(129));

  const args = process.argv.slice(2);
  let parsed;
  try {
    parsed = parse(args);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    // Recorded even when parsing fails, so a test sees what bm passed.
    record('claude');
    die(1, `error: ${err.message}`);
  }
  const { opts, positionals } = parsed;
  const mode = opts.print ? 'print' : 'interactive';
  const extra = { mode, prompt: positionals.length ? positionals.join(' ') : null };
  if (opts['append-system-prompt-file']) extra.appendSystemPromptFile = snapshot(opts['append-system-prompt-file']);
  if (opts['system-prompt-file']) extra.systemPromptFile = snapshot(opts['system-prompt-file']);
  const addDirs = (opts['add-dir'] ?? []).map((d) => resolve(d));
  extra.skillsVisible = [...(opts.bare ? [] : [process.cwd()]), ...addDirs].flatMap(skillsIn);

  if (opts.version || opts.help || SUBCOMMANDS.has(positionals[0])) {
    record('claude', extra);
    if (opts.version) process.stdout.write(VERSION + '\n');
    else if (opts.help) process.stdout.write('Usage: claude [options] [command] [prompt]\n\nClaude Code (test stub)\n');
    return 0;
  }
  const stdinIsTTY = isatty(0);
  if (mode === 'print' && extra.prompt === null && !stdinIsTTY) {
    const piped = await readStdin(0);
    if (piped.trim()) extra.prompt = piped;
  }
  record('claude', extra);

  if (process.env.CLAUDECODE && process.env.STUB_CLAUDE_ALLOW_NESTED !== '1') {
    die(1, 'Error: Claude Code cannot be launched inside another Claude Code session.\n' +
      'Nested sessions share runtime resources and will crash all active sessions.\n' +
      'To bypass this check, unset the CLAUDECODE environment variable.');
  }
  if (opts['system-prompt'] !== undefined && opts['system-prompt-file'] !== undefined) {
    die(1, 'Error: Cannot use both --system-prompt and --system-prompt-file. Please use only one.');
  }
  for (const [flag, snap] of [['--append-system-prompt-file', extra.appendSystemPromptFile], ['--system-prompt-file', extra.systemPromptFile]]) {
    if (snap && snap.text === null) die(1, `Error: ${flag}: file not found: ${snap.path}`);
  }
  for (const dir of addDirs) {
    if (!existsSync(dir)) process.stderr.write(`Warning: --add-dir ${dir} does not exist\n`);
  }
  const exitCode = msKnob('STUB_CLAUDE_EXIT', 0);

  if (mode === 'print') {
    if (extra.prompt === null) {
      die(1, 'Error: Input must be provided either through stdin or as a prompt argument when using --print');
    }
    if (opts['output-format'] === 'stream-json' && !opts.verbose) {
      die(1, 'Error: When using --print, --output-format=stream-json requires --verbose');
    }
    await sleep(msKnob('STUB_CLAUDE_DELAY_MS', 0));
    sideEffect();
    printResult(opts, exitCode);
    return exitCode;
  }

  if (stdinIsTTY) {
    process.stdout.write('Claude Code (stub): interactive session. Press Ctrl-D to end it.\n');
    await readStdin(0);
  } else {
    const sessionMs = msKnob('STUB_CLAUDE_SESSION_MS', 0);
    if (sessionMs > 0) await readStdin(sessionMs);
  }
  sideEffect();
  return exitCode;
}

process.exit(await main());
