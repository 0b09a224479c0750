/**
 * On a terminal, `bm init` asks for each setting. Driven through a real pseudo-terminal
 * (util-linux `script`), with the answers typed ahead.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BM_COMMAND, createSandbox } from '../support/sandbox.ts';

const hasScript = spawnSync('script', ['--version']).status === 0;

function typeInto(env: NodeJS.ProcessEnv, command: string, answers: string[]): { status: number | null; output: string } {
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { env, input: `${answers.join('\n')}\n`, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('the wizard creates a team from typed answers; "no" at the end creates nothing', async () => {
  if (!hasScript) {
    console.log('  skipped: util-linux `script` is not installed');
    return;
  }
  const sandbox = createSandbox();
  try {
    const bm = [...BM_COMMAND, 'init'].join(' ');
    const zone = path.join(sandbox.dir, 'zone');
    const env = { ...sandbox.env, CI: '' };
    const declined = typeInto(env, bm, ['wiz', '2', zone, 'n', '', '', 'superman:clark', 'n']);
    assert.is(declined.status, 1, declined.output);
    assert.match(declined.output, /Cancelled/);
    assert.equal(await sandbox.json(['teams', 'list', '--json']), []);

    const created = typeInto(env, bm, ['wiz', '2', zone, 'n', '', '', 'superman:clark', 'y']);
    assert.is(created.status, 0, created.output);
    assert.match(created.output, /Team name: /);
    assert.match(created.output, /1\) scrum\s+2\) scrum-compact/);
    const teams = await sandbox.json<{ name: string; profile: string; path: string }[]>(['teams', 'list', '--json']);
    assert.equal(teams.map((t) => [t.name, t.profile, t.path]), [['wiz', 'scrum-compact', path.join(zone, 'wiz')]]);
    const members = await sandbox.json<{ name: string }[]>(['members', 'list', '--json']);
    assert.equal(members.map((m) => m.name), ['superman-clark']);
  } finally {
    sandbox.cleanup();
  }
});

test.run();
