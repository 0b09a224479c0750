/**
 * lib/session.ts against the stub programs: the headless ralph session (success, failure exit,
 * captured output, timeout, missing binary or files) and the checks that run before the
 * interactive Claude session starts. The interactive session itself is driven through the real
 * CLI in test/e2e/knowledge-session.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findOnPath, headlessRalphSession, interactiveSkillSession } from '../../lib/session.ts';
import { alive } from '../support/processes.ts';
import { STUB_BIN } from '../support/sandbox.ts';

let dir: string;
let log: string;
let env: Record<string, string>;

test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-session-test-'));
  log = path.join(dir, 'calls.jsonl');
  writeFileSync(path.join(dir, 'ralph.yml'), 'event_loop:\n  persistent: false\n');
  writeFileSync(path.join(dir, 'PROMPT.md'), 'Deploy the team.\n');
  env = {
    PATH: `${STUB_BIN}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: dir,
    BM_STUB_LOG: log,
    STUB_RALPH_DELAY_MS: '20',
    STUB_RALPH_TICK_MS: '20',
    BM_TEAM_NAME: 'alpha',
    CLAUDECODE: '1',
  };
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

interface Call { bin: string; argv: string[]; cwd: string; env: Record<string, string>; configPath?: string; promptFile?: string; mode?: string }
async function rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `expected a rejection matching ${pattern}`);
  assert.match(error.message, pattern);
}

const calls = (): Call[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : []);

test('headless ralph: one-shot run with -c and -P in the given dir, CLAUDECODE removed', async () => {
  const result = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env });
  assert.equal([result.ok, result.code, result.signal, result.timedOut], [true, 0, null, false]);
  const yml = path.join(dir, 'ralph.yml');
  const prompt = path.join(dir, 'PROMPT.md');
  assert.equal(result.argv, ['run', '-c', yml, '-P', prompt]);
  const [call] = calls();
  assert.is(calls().length, 1);
  assert.equal(call.argv, ['run', '-c', yml, '-P', prompt]);
  assert.is(call.cwd, dir);
  assert.is(call.configPath, yml);
  assert.is(call.promptFile, prompt);
  assert.is(call.mode, 'oneshot');
  assert.is(call.env.BM_TEAM_NAME, 'alpha');
  assert.not.ok('CLAUDECODE' in call.env, 'CLAUDECODE must not reach ralph');
  assert.ok(existsSync(path.join(dir, '.ralph', 'agent', 'summary.md')), 'the loop ran to completion in the given dir');
});

test('headless ralph: a failing exit is returned with the tail of its output', async () => {
  const seen: string[] = [];
  const failed = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, STUB_RALPH_FAIL_RUN: '1' }, onOutput: (c) => seen.push(c) });
  assert.equal([failed.ok, failed.code], [false, 1]);
  assert.match(failed.tail, /stub ralph failing on purpose/);
  assert.match(seen.join(''), /stub ralph failing on purpose/);

  const maxed = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, STUB_RALPH_EXIT: '2' } });
  assert.equal([maxed.ok, maxed.code], [false, 2]);
});

test('headless ralph: tailLines keeps only the last lines', async () => {
  // A stand-in ralph that prints more lines than the tail keeps.
  const wrapper = path.join(dir, 'bin');
  mkdirSync(wrapper);
  writeFileSync(path.join(wrapper, 'ralph'), '#!/bin/sh\nfor i in 1 2 3 4 5 6; do echo "line $i"; done\nexit 0\n');
  chmodSync(path.join(wrapper, 'ralph'), 0o755);
  const result = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, PATH: `${wrapper}${path.delimiter}${env.PATH}` }, tailLines: 2 });
  assert.is(result.tail, 'line 5\nline 6');
});

test('headless ralph: a run over its time limit is stopped', async () => {
  const started = Date.now();
  const result = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, STUB_RALPH_MODE: 'persistent' }, timeoutMs: 300 });
  assert.ok(result.timedOut);
  assert.not.ok(result.ok);
  assert.is(result.code, 130, 'the stub exits 130 on SIGTERM, like ralph');
  assert.ok(Date.now() - started < 5000, 'SIGTERM was enough; no 5 s SIGKILL wait');
});

test('headless ralph: what the run leaves in its process group is ended when it exits', async () => {
  const result = await headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, STUB_RALPH_CHILD: 'group' } });
  assert.ok(result.ok);
  const child = Number(readFileSync(path.join(dir, '.ralph-stub-children'), 'utf8'));
  assert.ok(child > 0);
  assert.not.ok(alive(child), `the child ${child} the run left behind was ended`);
});

test('interactive session: what claude started in the background is ended when it exits', async () => {
  const skills = path.join(dir, 'skills');
  mkdirSync(path.join(skills, 'knowledge-manager'), { recursive: true });
  writeFileSync(path.join(skills, 'knowledge-manager', 'SKILL.md'), '# skill\n');
  const run = 'sleep 300 > /dev/null 2>&1 & echo $! > background.pid';
  const exit = await interactiveSkillSession({ skill: 'knowledge-manager', skillsDir: skills, cwd: dir, env: { ...env, STUB_CLAUDE_RUN: run } });
  assert.is(exit.code, 0);
  const background = Number(readFileSync(path.join(dir, 'background.pid'), 'utf8'));
  assert.ok(background > 0);
  assert.not.ok(alive(background), `the background process ${background} was ended with the session`);
});

test('headless ralph: missing binary, ralph.yml or prompt file fail before anything runs', async () => {
  const empty = path.join(dir, 'empty-bin');
  mkdirSync(empty);
  await rejects(() => headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'ralph.yml', env: { ...env, PATH: empty } }), /'ralph' not found in PATH/);
  await rejects(() => headlessRalphSession({ cwd: dir, promptFile: 'MISSING.md', ralphYml: 'ralph.yml', env }), /prompt file .*MISSING\.md does not exist/);
  await rejects(() => headlessRalphSession({ cwd: dir, promptFile: 'PROMPT.md', ralphYml: 'nope.yml', env }), /ralph\.yml .*nope\.yml does not exist/);
  assert.equal(calls(), [], 'ralph never started');
});

test('findOnPath looks at PATH when called, not once', () => {
  const bin = path.join(dir, 'later');
  mkdirSync(bin);
  const lookup = { PATH: bin };
  assert.is(findOnPath('tool', lookup), undefined);
  writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\n');
  assert.is(findOnPath('tool', lookup), undefined, 'not executable yet');
  chmodSync(path.join(bin, 'tool'), 0o755);
  assert.is(findOnPath('tool', lookup), path.join(bin, 'tool'));
});

test('interactive session: missing skill or missing claude fail before a temp file is written', async () => {
  const skills = path.join(dir, 'skills');
  const tmp = path.join(dir, 'tmp');
  mkdirSync(tmp);
  const base = { skill: 'knowledge-manager', skillsDir: skills, cwd: dir, env };
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp; // os.tmpdir() reads it on every call
  try {
    await rejects(() => interactiveSkillSession(base), /Skill 'knowledge-manager' not found at .*SKILL\.md/);
    mkdirSync(path.join(skills, 'knowledge-manager'), { recursive: true });
    writeFileSync(path.join(skills, 'knowledge-manager', 'SKILL.md'), '# skill\n');
    const empty = path.join(dir, 'empty-bin');
    mkdirSync(empty);
    await rejects(() => interactiveSkillSession({ ...base, env: { ...env, PATH: empty } }), /'claude' not found in PATH/);
    await rejects(() => interactiveSkillSession({ ...base, skill: '../escape' }), /Invalid name/);
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  assert.is(os.tmpdir() === tmp, false);
  assert.equal(readdirSync(tmp), []);
  assert.equal(calls(), []);
});

test.run();
