/**
 * Contract with the real Claude Code CLI: every flag bm passes to `claude` must exist in the
 * installed version's `--help`, so the stub cannot drift into accepting flags the real program
 * rejects. Only `--help` runs (offline, no account). Opt-in: `npm run test:claude` installs
 * Claude Code into .tools/claude and names it in BM_REAL_CLAUDE; the real program is never looked
 * up on PATH, so no other test can pick it up by accident. Without it the test is skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLAUDE_FLAGS_USED } from '../../lib/session.ts';

const REAL_CLAUDE = process.env.BM_REAL_CLAUDE ?? '';

function help(): { status: number | null; text: string } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bm-claude-help-'));
  try {
    // A bare environment: a temp HOME and no credentials, so nothing can reach an account.
    const result = spawnSync(REAL_CLAUDE, ['--help'], { env: { PATH: '/usr/bin:/bin', HOME: home }, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, text: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Every `--flag` the help mentions; `--name[-suffix]` counts as both `--name` and `--name-suffix`. */
function flagsIn(text: string): Set<string> {
  const flags = new Set<string>();
  for (const [, name, suffix] of text.matchAll(/(--[a-zA-Z][\w-]*)(?:\[(-[\w-]+)\])?/g)) {
    flags.add(name);
    if (suffix) flags.add(`${name}${suffix}`);
  }
  return flags;
}

test('flagsIn reads plain and bracketed flags', () => {
  const flags = flagsIn('  --add-dir <dirs...>  use --system-prompt[-file] or --bare');
  assert.equal([...flags].sort(), ['--add-dir', '--bare', '--system-prompt', '--system-prompt-file']);
});

const installed = REAL_CLAUDE !== '' && existsSync(REAL_CLAUDE);
if (!installed) console.log('claude contract test skipped: opt in with `npm run test:claude`, which installs Claude Code for it');

(installed ? test : test.skip)('every flag bm passes to claude is in the real claude --help', () => {
  const { status, text } = help();
  assert.is(status, 0, `claude --help failed: ${text.slice(0, 500)}`);
  const known = flagsIn(text);
  for (const flag of CLAUDE_FLAGS_USED) assert.ok(known.has(flag), `${flag} is not in claude --help`);
  assert.match(text, /Usage: claude .*\[prompt\]/, 'claude takes the opening message as a positional prompt');
});

test.run();
