/**
 * On a terminal, `bm init` asks for each setting. Driven through a real pseudo-terminal
 * (util-linux `script`), with the answers typed ahead.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/** Answers each prompt only once it is on screen, as a person would, and returns everything shown. */
function converse(env: NodeJS.ProcessEnv, command: string, script: [RegExp, string][]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let seen = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the wizard stalled; it showed:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const next = script[0];
      if (next && next[0].test(output.slice(seen))) {
        script.shift();
        seen = output.length;
        child.stdin.write(`${next[1]}\n`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

test('the wizard does not echo the GitHub token as it is typed', async () => {
  if (!hasScript) {
    console.log('  skipped: util-linux `script` is not installed');
    return;
  }
  const sandbox = createSandbox();
  try {
    const token = `ghp_${'Zx9'.repeat(12)}`;
    const env: NodeJS.ProcessEnv = { ...sandbox.env, CI: '' };
    delete env.GH_TOKEN;
    const shown = await converse(env, [...BM_COMMAND, 'init'].join(' '), [
      [/Team name: /, 'wiz'], [/Choice/, '1'], [/Workzone/, path.join(sandbox.dir, 'zone')], [/on GitHub\?/, 'y'],
      [/GitHub repository/, 'acme/wiz-team'], [/GitHub token/, token], [/Project fork URLs/, ''], [/Members to hire/, ''], [/\(y\/N\)/, 'n'],
    ]);
    assert.match(shown, /Project fork URLs/, shown);
    assert.not.ok(shown.includes(token.slice(4, 20)), `the token was shown:\n${shown}`);
  } finally {
    sandbox.cleanup();
  }
});

test.run();
