/**
 * The command layer: help, usage errors, suggestions, and completions driven by the same
 * declarations.
 */
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commandHelp, defineCommand, defineGroup, parseFlags, runMain } from '../../lib/cli.ts';
import { closest } from '../../lib/suggest.mjs';
import { validateName } from '../../lib/names.ts';
import { formatError, redact, BmError } from '../../lib/output.ts';
import { interceptOutput } from '../support/output.ts';

const seen: unknown[] = [];
const hire = defineCommand({
  name: 'hire',
  summary: 'Hire',
  args: [{ name: 'role', description: 'a role', required: true }],
  options: { name: { type: 'string', value: 'NAME', description: 'name' }, project: { type: 'string', multiple: true, description: 'p' } },
  examples: ['bm hire dev'],
  run: (cli) => {
    seen.push({ role: cli.args.role, name: cli.string('name'), projects: cli.list('project') });
  },
});

async function captured(fn: () => Promise<void>): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const restore = interceptOutput((fd, text) => (fd === 1 ? out : err).push(text));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await fn();
    return { stdout: out.join(''), stderr: err.join(''), code: process.exitCode as number | undefined };
  } finally {
    restore();
    process.exitCode = before;
  }
}

test('parses arguments, string and repeatable flags', async () => {
  seen.length = 0;
  const result = await captured(() => runMain(hire, ['dev', '--name', 'alice', '--project', 'a', '--project', 'b']));
  assert.is(result.code, undefined);
  assert.equal(seen, [{ role: 'dev', name: 'alice', projects: ['a', 'b'] }]);
});

test('usage errors exit 2 with the usage line; a missing argument is named', async () => {
  const unknown = await captured(() => runMain(hire, ['dev', '--nam', 'x']));
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--nam'.*Usage: bm hire ROLE \[flags\]/);
  const missing = await captured(() => runMain(hire, []));
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /Missing ROLE/);
  const extra = await captured(() => runMain(hire, ['dev', 'qe']));
  assert.match(extra.stderr, /Unexpected argument 'qe'/);
});

test('help lists arguments, flags and examples', async () => {
  const help = commandHelp(hire);
  for (const part of ['Usage: bm hire ROLE [flags]', 'ROLE', '--name NAME', '--project VALUE', '(repeatable)', '-h, --help', 'bm hire dev']) {
    assert.ok(help.includes(part), `help lacks ${part}`);
  }
  const shown = await captured(() => runMain(hire, ['--help']));
  assert.is(shown.code, undefined);
  assert.match(shown.stdout, /Examples:/);
});

test('groups suggest the closest subcommand', async () => {
  const group = defineGroup({ name: 'teams', summary: 'Teams', subcommands: [{ ...hire, name: 'teams list' }, { ...hire, name: 'teams show' }] });
  const result = await captured(() => runMain(group, ['lsit']));
  assert.is(result.code, 2);
  assert.match(result.stderr, /Did you mean 'bm teams list'\?/);
  assert.is(closest('zzzzzz', ['list', 'show']), undefined);
  assert.is(closest('sho', ['list', 'show']), 'show');
});

test('names: the allow-list and its reasons', () => {
  for (const good of ['a', 'dev-01', 'my-team', 'x'.repeat(63)]) assert.is(validateName('member', good), good);
  const reasons: [string, RegExp][] = [['', /empty/], ['../x', /path separator/], ['a b', /white space/], ['Alice', /uppercase/], ['x'.repeat(64), /64 characters/], ['-rf', /lowercase letters/], ['a\u0000b', /lowercase/]];
  for (const [bad, why] of reasons) assert.throws(() => validateName('member', bad), why);
});

test('errors are one line with the fix, and tokens never show', () => {
  const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
  assert.is(formatError(new BmError(`push to https://x:${token}@github.com/a/b failed.`, 'Check access.')), 'Error: push to https://***@github.com/a/b failed. Check access.');
  assert.is(redact(`token ${token} and github_pat_${'a'.repeat(30)}`), 'token *** and ***');
  assert.is(redact('secret value here', ['value']), 'secret *** here');
});

test('permission errors say what and how to fix it', () => {
  const denied = Object.assign(new Error("EACCES: permission denied, open '/srv/bm/state.json'"), { code: 'EACCES', path: '/srv/bm/state.json', syscall: 'open' });
  assert.match(formatError(denied), /^Error: Permission denied: bm cannot read or write \/srv\/bm\/state\.json \(EACCES\)\. Check its owner and mode with `ls -ld \/srv\/bm\/state\.json`/);
  const readOnly = Object.assign(new Error('EROFS'), { code: 'EROFS', path: '/ro/x', syscall: 'mkdir' });
  assert.match(formatError(readOnly), /read-only file system.*BM_HOME/);
});

test.run();

test('parseFlags: long, short, inline, bundled, repeated and -- forms', () => {
  const options = {
    team: { type: 'string', short: 't', description: 't' },
    yes: { type: 'boolean', short: 'y', description: 'y' },
    force: { type: 'boolean', short: 'f', description: 'f' },
    project: { type: 'string', short: 'p', multiple: true, description: 'p' },
  } as const;
  const parsed = parseFlags(['a', '--team', 'x', '-yf', '--project=one', '-ptwo', '-p', 'three', 'b', '--', '--not-a-flag'], options);
  assert.equal(parsed.values, { team: 'x', yes: true, force: true, project: ['one', 'two', 'three'] });
  assert.equal(parsed.positionals, ['a', 'b', '--not-a-flag']);
  assert.equal(parseFlags(['-tteam'], options).values, { team: 'team' });
  assert.throws(() => parseFlags(['--tema', 'x'], options), /Unknown option '--tema'. Did you mean '--team'\?/);
  assert.throws(() => parseFlags(['-z'], options), /Unknown option '-z'/);
  assert.throws(() => parseFlags(['--team'], options), /Option '-t, --team' needs a value/);
  assert.throws(() => parseFlags(['-t', '--yes'], options), /needs a value/);
  assert.throws(() => parseFlags(['--yes=no'], options), /Option '-y, --yes' does not take a value/);
});

test('group flags may come before the subcommand', async () => {
  const calls: string[] = [];
  const list = defineCommand({ name: 'things list', summary: 'l', options: { team: { type: 'string', short: 't', description: 't' } }, examples: [], run: (cli) => void calls.push(`list ${cli.string('team')}`) });
  const group = defineGroup({ name: 'things', summary: 's', subcommands: [list] });
  await captured(() => runMain(group, ['-t', 'alpha', 'list']));
  await captured(() => runMain(group, ['--team=beta', 'list']));
  assert.equal(calls, ['list alpha', 'list beta']);
  const help = await captured(() => runMain(group, ['-t', 'alpha']));
  assert.match(help.stdout, /bm things list/);
});
