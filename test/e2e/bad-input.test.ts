/**
 * Bad input gets a clear one-line error, exit 1 (2 for usage), and nothing half-done.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
test.before.each(() => {
  sandbox = createSandbox();
});
test.after.each(() => sandbox.cleanup());

const init = (team: string, extra: string[] = []) =>
  ['init', '--non-interactive', `--team-name=${team}`, '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', ...extra];

function assertOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp, code = 1): void {
  assert.is(result.code, code, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.is(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

for (const bad of ['../x', 'A B', 'x'.repeat(70), '-rf', 'a;touch pwned', '']) {
  test(`team name ${JSON.stringify(bad.slice(0, 12))} is rejected before anything is written`, async () => {
    const result = await sandbox.bm(init(bad));
    assertOneLineError(result, /Invalid team name|Missing --team-name/, bad === '' ? 2 : 1);
    assert.not.ok(existsSync(sandbox.workzone) && readdirSync(sandbox.workzone).length > 0, 'the workzone stays empty');
    assert.not.ok(existsSync(path.join(sandbox.bmHome, 'config.yml')), 'no config is written');
    assert.not.ok(existsSync(path.join(sandbox.dir, 'pwned')));
  });
}

test('member names are validated too, and unknown roles list the real ones', async () => {
  await sandbox.ok(init('alpha'));
  assertOneLineError(await sandbox.bm(['hire', 'dev', '--name', '../../etc']), /Invalid member name/);
  assertOneLineError(await sandbox.bm(['hire', 'dev', '--name', 'Bob Smith']), /Invalid member name/);
  assertOneLineError(await sandbox.bm(['hire', 'wizard']), /Role 'wizard' not available in profile 'scrum'\. Available roles: architect, dev, po, qe, reviewer/);
  assertOneLineError(await sandbox.bm(['fire', 'dev-nobody', '--yes']), /Member 'dev-nobody' not found/);
  assert.equal(await sandbox.json(['members', 'list', '--json']), []);
});

test('unknown profile, existing team dir, duplicate team', async () => {
  assertOneLineError(await sandbox.bm(['init', '--non-interactive', '--team-name', 'a', '--profile', 'kanban', '--no-github', '--workzone', sandbox.workzone]),
    /Profile 'kanban' not found\. Available profiles: scrum, scrum-compact/);
  mkdirSync(path.join(sandbox.workzone, 'taken'), { recursive: true });
  assertOneLineError(await sandbox.bm(init('taken')), /Team directory .*taken already exists/);
  await sandbox.ok(init('alpha'));
  assertOneLineError(await sandbox.bm(init('alpha')), /Team 'alpha' is already registered/);
});

test('a corrupt config.yml is reported with file and line, and not overwritten', async () => {
  mkdirSync(sandbox.bmHome, { recursive: true });
  const configFile = path.join(sandbox.bmHome, 'config.yml');
  writeFileSync(configFile, 'teams:\n  - name: a\n    path: [unclosed\n', { mode: 0o600 });
  const result = await sandbox.bm(['teams', 'list']);
  assertOneLineError(result, /config\.yml:\d+:\d+/);
  assert.is(readFileSync(configFile, 'utf8'), 'teams:\n  - name: a\n    path: [unclosed\n');
});

test('a botminter.yml alias bomb fails fast with a clear error', async () => {
  await sandbox.ok(init('alpha'));
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  bomb.push('name: scrum');
  writeFileSync(path.join(sandbox.workzone, 'alpha', 'team', 'botminter.yml'), `${bomb.join('\n')}\n`);
  const started = Date.now();
  const result = await sandbox.bm(['members', 'list']);
  assertOneLineError(result, /botminter\.yml.*alias/i);
  assert.ok(Date.now() - started < 5000, 'rejected quickly');
});

test('an unwritable workzone is reported and nothing is registered', async () => {
  const file = path.join(sandbox.dir, 'a-file');
  writeFileSync(file, '');
  const result = await sandbox.bm(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--no-github', '--workzone', path.join(file, 'zone')]);
  assertOneLineError(result, /Cannot write to workzone/);
  assert.not.ok(existsSync(path.join(sandbox.bmHome, 'config.yml')));
});

test('a loose config mode is tightened to 0600 with a warning', async () => {
  await sandbox.ok(init('alpha'));
  const configFile = path.join(sandbox.bmHome, 'config.yml');
  const { chmodSync, statSync } = await import('node:fs');
  chmodSync(configFile, 0o644);
  const result = await sandbox.ok(['teams', 'list']);
  assert.match(result.stderr, /mode 644/);
  assert.is(statSync(configFile).mode & 0o777, 0o600);
});

test('usage errors exit 2 and suggest the closest command', async () => {
  const typo = await sandbox.bm(['hier']);
  assert.is(typo.code, 2);
  assert.match(typo.stderr, /Did you mean 'bm hire'\?/);
  const subTypo = await sandbox.bm(['teams', 'lst']);
  assert.is(subTypo.code, 2);
  assert.match(subTypo.stderr, /Did you mean 'bm teams list'\?/);
  const flag = await sandbox.bm(['members', 'list', '--jsn']);
  assert.is(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--jsn'/);
  const noTeams = await sandbox.bm(['members', 'list']);
  assertOneLineError(noTeams, /No teams configured\. Run `bm init` first/);
});

test.run();
