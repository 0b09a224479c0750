/**
 * `bm knowledge` (no command): the interactive Claude Code session with the knowledge-manager
 * skill, run against the stub claude. Checks what claude receives (argv, cwd, env, the skill
 * text), that the temp copy of the skill is gone afterwards, and what bm reports back.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { preparedSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let repo: string;
let log: string;
let tmp: string;

const SKILL = '---\nname: knowledge-manager\ndescription: test copy\n---\n# Knowledge manager (test copy)\n\nEdit knowledge files only.\n';

interface ClaudeCall {
  bin: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  mode: string;
  prompt: string | null;
  appendSystemPromptFile?: { path: string; text: string | null };
}

const calls = (): ClaudeCall[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ClaudeCall) : []);
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { env: sandbox.env }).toString();

test.before.each(async () => {
  // The team is made once, then copied for each test.
  sandbox = await preparedSandbox('team', async (s) => {
    mkdirSync(path.join(s.dir, 'tmp'));
    await s.ok(['init', '--non-interactive', '--team-name', 'kb', '--profile', 'scrum', '--workzone', s.workzone, '--no-github']);
    await s.ok(['hire', 'dev', '--name', 'alice']);
    const team = path.join(s.workzone, 'kb', 'team');
    // The session must use the team's own copy of the skill, not bm's built-in one.
    writeFileSync(path.join(team, 'skills', 'knowledge-manager', 'SKILL.md'), SKILL);
    execFileSync('git', ['-C', team, 'commit', '-q', '-am', 'test: own skill text'], { env: s.env });
  });
  log = path.join(sandbox.dir, 'calls.jsonl');
  tmp = path.join(sandbox.dir, 'tmp');
  repo = path.join(sandbox.workzone, 'kb', 'team');
});
test.after.each(() => sandbox.cleanup());

test('the session gets the skill, a scoped opening message, the team repo as cwd and no CLAUDECODE', async () => {
  const run = await sandbox.bm(['knowledge', '--scope', 'member', '--member', 'dev-alice'], {
    env: {
      BM_STUB_LOG: log,
      TMPDIR: tmp,
      CLAUDECODE: '1',
      STUB_CLAUDE_RUN: 'printf "# Tip\\n" > members/dev-alice/knowledge/tip.md && printf "more\\n" >> knowledge/commit-convention.md && rm knowledge/pull-requests.md',
    },
  });
  assert.is(run.code, 0, run.stderr);
  const all = calls();
  assert.is(all.length, 1, 'claude ran once');
  const [call] = all;
  assert.is(call.bin, 'claude');
  assert.is(call.mode, 'interactive');
  assert.is(call.argv.length, 3);
  assert.is(call.argv[0], '--append-system-prompt-file');
  assert.is(path.dirname(path.dirname(call.argv[1])), realpathSync(tmp), 'the skill copy lives in a temp dir');
  assert.match(call.argv[2], /Focus on the member scope \(members\/dev-alice\/knowledge\/ and members\/dev-alice\/invariants\/\)/);
  assert.is(call.prompt, call.argv[2]);
  assert.is(realpathSync(call.cwd), realpathSync(repo));
  assert.not.ok('CLAUDECODE' in call.env, 'CLAUDECODE is removed');
  assert.is(call.env.HOME, sandbox.home);
  assert.is(call.appendSystemPromptFile?.text, SKILL, 'claude read the team\'s SKILL.md');
  assert.not.ok(existsSync(call.argv[1]), 'the temp copy is removed after the session');
  assert.equal(readdirSync(tmp), [], 'nothing is left in TMPDIR');

  assert.match(run.stdout, /Changes in the team repo \(.*\):\n {2}modified {2}knowledge\/commit-convention\.md\n {2}deleted {3}knowledge\/pull-requests\.md\n {2}new {7}members\/dev-alice\/knowledge\/tip\.md\n/);
  assert.match(run.stdout, /commit/);
  assert.match(run.stdout, /bm teams sync/);
  assert.equal(git('log', '-1', '--format=%s').trim(), 'test: own skill text', 'bm leaves committing to the operator');
});

test('without a scope the session covers all scopes; --project alone focuses the project scope', async () => {
  await sandbox.ok(['knowledge'], { env: { BM_STUB_LOG: log, TMPDIR: tmp } });
  execFileSync('git', ['init', '-q', '--bare', path.join(sandbox.dir, 'widget.git')], { env: sandbox.env });
  await sandbox.ok(['projects', 'add', path.join(sandbox.dir, 'widget.git')]);
  await sandbox.ok(['knowledge', '--project', 'widget'], { env: { BM_STUB_LOG: log, TMPDIR: tmp } });
  const [all, project] = calls();
  assert.match(all.argv[2], /Focus on all scopes\./);
  assert.match(project.argv[2], /Focus on the project scope \(projects\/widget\/knowledge\/ and projects\/widget\/invariants\/\)/);
  const quiet = await sandbox.ok(['knowledge'], { env: { BM_STUB_LOG: log, TMPDIR: tmp } });
  assert.match(quiet.stdout, /No changes in the team repo\./);
});

test('a failing session is reported after the changes, and its temp file is still removed', async () => {
  const run = await sandbox.bm(['knowledge'], { env: { BM_STUB_LOG: log, TMPDIR: tmp, STUB_CLAUDE_EXIT: '3', STUB_CLAUDE_RUN: 'echo x > knowledge/half-done.md' } });
  assert.is(run.code, 1);
  assert.match(run.stderr, /Claude Code session exited with an error \(exit code 3\)/);
  assert.match(run.stdout, /new {7}knowledge\/half-done\.md/);
  assert.equal(readdirSync(tmp), []);
});

test('a missing skill or claude is a clear error and nothing starts', async () => {
  rmSync(path.join(repo, 'skills', 'knowledge-manager'), { recursive: true });
  const noSkill = await sandbox.bm(['knowledge'], { env: { BM_STUB_LOG: log, TMPDIR: tmp } });
  assert.is(noSkill.code, 1);
  assert.match(noSkill.stderr, /Skill 'knowledge-manager' not found at .*skills\/knowledge-manager\/SKILL\.md\. Run `bm upgrade`/);

  git('checkout', '-q', '--', 'skills');
  const emptyBin = path.join(sandbox.dir, 'empty-bin');
  mkdirSync(emptyBin);
  const noClaude = await sandbox.bm(['knowledge'], { env: { BM_STUB_LOG: log, TMPDIR: tmp, PATH: emptyBin } });
  assert.is(noClaude.code, 1);
  assert.match(noClaude.stderr, /'claude' not found in PATH\. Install Claude Code/);
  assert.equal(calls(), []);
  assert.equal(readdirSync(tmp), []);
});

test.run();
