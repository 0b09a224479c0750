/**
 * lib/output.ts: tables measured in terminal cells, colour switches, errors as JSON.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BmError, UsageError, displayWidth, errorJson, renderTable } from '../../lib/output.ts';

test('display width counts terminal cells: CJK and emoji two, combining marks none, colour codes none', () => {
  assert.is(displayWidth('abc'), 3);
  assert.is(displayWidth('日本'), 4);
  assert.is(displayWidth('🚀'), 2);
  assert.is(displayWidth('e\u0301'), 1);
  assert.is(displayWidth('\u001b[1mbold\u001b[22m'), 4);
});

test('table columns line up by cells with wide characters in them', () => {
  const table = renderTable(['Member', 'Note'], [['dev-01', '日本語'], ['qe-01', '🚀 go'], ['rev-01', 'plain']], true);
  const rows = table.split('\n');
  const widths = new Set(rows.map(displayWidth));
  assert.is(widths.size, 1, `every row is as wide as the others:\n${table}`);
  const bars = (line: string) => [...line].reduce<number[]>((at, ch, i) => (ch === '│' ? [...at, displayWidth([...line].slice(0, i).join(''))] : at), []);
  assert.equal(bars(rows[3]), bars(rows[5]), 'the column separators sit in the same cells');
});

test('a newline, tab or control character in a cell (an issue title, a name from a file) cannot forge a row or a column', () => {
  const rows = [['dev-01', 'Fix it\ndev-02\trunning'], ['qe-01', 'bell\u0007 \u001b[1mbold\u001b[22m']];
  const piped = renderTable(['Member', 'Note'], rows, false).split('\n');
  assert.is(piped.length, 3, piped.join('\n'));
  assert.equal(piped[1].split('\t'), ['dev-01', 'Fix it\\ndev-02\\trunning']);
  assert.is(piped[2], 'qe-01\tbell\\u0007 \u001b[1mbold\u001b[22m', 'colour codes are kept, the bell is shown');
  assert.is(renderTable(['Member', 'Note'], rows, true).split('\n').length, 6);
});

test('errors as JSON carry the message, the hint and the exit code', () => {
  assert.equal(JSON.parse(errorJson(new BmError('Team x not found.', 'Run `bm teams list`.'))), { error: { message: 'Team x not found', hint: 'Run `bm teams list`.', exitCode: 1 } });
  assert.equal(JSON.parse(errorJson(new UsageError('Missing ROLE'))).error.exitCode, 2);
  assert.not.ok(errorJson(new Error(`token ghp_${'a'.repeat(36)} leaked`)).includes('ghp_a'), 'secrets are masked');
});

test('FORCE_COLOR turns colour on when piped, and FORCE_COLOR=0 off; NO_COLOR alone turns it off', () => {
  const script = `import { style } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../lib/output.ts'))}; process.stdout.write(style('bold', 'x'));`;
  const evaluate = 'Deno' in globalThis ? ['eval', script] : ['--import', 'tsx', '--input-type=module', '-e', script];
  const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, evaluate, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).stdout;
  assert.is(run({ FORCE_COLOR: '1' }), '\u001b[1mx\u001b[22m');
  assert.is(run({ FORCE_COLOR: '1', NO_COLOR: '1' }), '\u001b[1mx\u001b[22m', 'FORCE_COLOR wins, as in Node');
  assert.is(run({ FORCE_COLOR: '0' }), 'x');
  assert.is(run({}), 'x', 'piped: no colour');
});

test.run();
