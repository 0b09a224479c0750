/**
 * `bm teams sync` driven through the real CLI, with local bare repos standing in for the project
 * forks and the team remote: 3 members × 2 projects created, re-synced, repaired and edited.
 */
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox, preparedSandbox, type Sandbox } from '../support/sandbox.ts';

interface Result { member: string; project: string | null; path: string; action: string; changes: string[]; warnings: string[]; error: string | null }
interface Report { team: string; dryRun: boolean; summary: Record<string, number>; workspaces: Result[] }

const MEMBERS = ['dev-alice', 'qe-quinn', 'reviewer-rita'];
const PROJECTS = ['gadget', 'widget'];

let sandbox: Sandbox;
test.after.each(() => sandbox.cleanup());

const git = (cwd: string, ...args: string[]) => sandbox.git(cwd, ...args);

/** A bare repo with one commit on main, plus the seed clone used to push more commits later. */
function projectRemote(name: string, files: Record<string, string> = { 'README.md': `# ${name}\n` }): { bare: string; seed: string } {
  const bare = path.join(sandbox.dir, 'remotes', `${name}.git`);
  const seed = path.join(sandbox.dir, 'seeds', name);
  mkdirSync(seed, { recursive: true });
  git(sandbox.dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(seed, 'init', '-q', '-b', 'main');
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(seed, file), text);
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', bare, 'main');
  return { bare, seed };
}

const teamDir = () => path.join(sandbox.workzone, 'alpha');
const teamRepo = () => path.join(teamDir(), 'team');
const ws = (member: string, project: string) => path.join(teamDir(), member, project);

/** Commits files into the team repo, as an operator editing it would. */
function commitToTeam(files: Record<string, string>, message: string): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(teamRepo(), file)), { recursive: true });
    writeFileSync(path.join(teamRepo(), file), text);
  }
  git(teamRepo(), 'add', '-A');
  git(teamRepo(), 'commit', '-q', '-m', message);
}

/**
 * This test's sandbox: a team "alpha" with projects gadget (tracks its own CLAUDE.md) and widget,
 * three members and layered agents; `synced`: after a first `bm teams sync`. Each is made once
 * and copied for the next test that asks for it.
 */
async function setUpTeam(synced = false): Promise<{ widget: { bare: string; seed: string }; teamRemote: string }> {
  const remotes = (dir: string) => ({ widget: { bare: path.join(dir, 'remotes', 'widget.git'), seed: path.join(dir, 'seeds', 'widget') }, teamRemote: path.join(dir, 'remotes', 'alpha-team.git') });
  sandbox = await preparedSandbox(synced ? 'synced' : 'team', async (s) => {
    sandbox = s;
    const { teamRemote } = remotes(s.dir);
    mkdirSync(path.dirname(teamRemote), { recursive: true });
    git(s.dir, 'init', '-q', '--bare', '-b', 'main', teamRemote);
    const widget = projectRemote('widget');
    const gadget = projectRemote('gadget', { 'README.md': '# gadget\n', 'CLAUDE.md': 'the project\'s own CLAUDE.md\n' });
    await s.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', s.workzone, '--no-github',
      '--remote', teamRemote, '--project', widget.bare, '--project', gadget.bare, '--hire', 'dev:alice', '--hire', 'qe:quinn', '--hire', 'reviewer:rita']);
    commitToTeam({
      'coding-agent/agents/helper.md': 'team helper\n',
      'coding-agent/agents/shared.md': 'team shared\n',
      'projects/widget/coding-agent/agents/shared.md': 'widget shared\n',
      'members/dev-alice/coding-agent/agents/shared.md': 'alice shared\n',
    }, 'add agents');
    if (synced) await s.ok(['teams', 'sync']);
  });
  return remotes(sandbox.dir);
}

/** Every entry under `root` with its type, size, mtime and link target: equal snapshots mean nothing was written. */
function snapshot(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = lstatSync(full);
      const rel = path.relative(root, full);
      if (st.isSymbolicLink()) lines.push(`L ${rel} -> ${readlinkSync(full)} ${st.mtimeMs}`);
      else if (st.isDirectory()) {
        lines.push(`D ${rel} ${st.mtimeMs}`);
        walk(full);
      } else lines.push(`F ${rel} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(root);
  return lines;
}

/** The workspaces only (not the team repo or the sync lock beside them). */
const workspacesSnapshot = () => MEMBERS.flatMap((m) => snapshot(path.join(teamDir(), m)));

async function syncJson(args: string[] = []): Promise<Report> {
  return sandbox.json<Report>(['teams', 'sync', '--json', ...args]);
}

const byLabel = (report: Report) => Object.fromEntries(report.workspaces.map((w) => [`${w.member}/${w.project}`, w]));

test('create 3 members × 2 projects; dry runs write nothing; a re-sync changes nothing and says so', async () => {
  await setUpTeam();
  const before = snapshot(sandbox.workzone);
  const plan = await syncJson(['--dry-run']);
  assert.equal(snapshot(sandbox.workzone), before, '--dry-run wrote to disk');
  assert.equal(plan.workspaces.map((w) => w.action), Array(6).fill('create'));

  const report = await syncJson();
  assert.equal(report.workspaces.map((w) => `${w.member}/${w.project}`), MEMBERS.flatMap((m) => PROJECTS.map((p) => `${m}/${p}`)), 'stable order: members, then projects');
  assert.equal(report.workspaces.map((w) => [w.action, w.error]), Array(6).fill(['created', null]));
  assert.equal(report.summary, { total: 6, created: 6, updated: 0, unchanged: 0, failed: 0 });

  const teamHead = git(teamRepo(), 'rev-parse', 'HEAD');
  for (const member of MEMBERS) {
    for (const project of PROJECTS) {
      const dir = ws(member, project);
      assert.is(report.workspaces.find((w) => w.member === member && w.project === project)?.path, dir);
      assert.is(git(dir, 'symbolic-ref', '--short', 'HEAD'), member, `${dir} is on the member's branch`);
      assert.is(git(dir, 'remote', 'get-url', 'origin'), path.join(sandbox.dir, 'remotes', `${project}.git`));
      assert.is(git(path.join(dir, '.botminter'), 'rev-parse', 'HEAD'), teamHead, '.botminter is the team repo at HEAD');
      for (const file of ['PROMPT.md', 'CLAUDE.md']) {
        assert.is(readlinkSync(path.join(dir, file)), `.botminter/members/${member}/${file}`, `${file} is a relative symlink into the member dir`);
        assert.is(realpathSync(path.join(dir, file)), realpathSync(path.join(dir, '.botminter', 'members', member, file)));
      }
      assert.not.ok(lstatSync(path.join(dir, 'ralph.yml')).isSymbolicLink(), 'ralph.yml is a copy');
      const ralph = readFileSync(path.join(dir, 'ralph.yml'), 'utf8');
      assert.ok(ralph.includes(`- .botminter/projects/${project}/coding-agent/skills`), 'project skill dir resolved');
      assert.ok(ralph.includes(`- .botminter/members/${member}/coding-agent/skills`), 'member skill dir resolved');
      assert.not.ok(ralph.includes('{{'), 'no placeholder left');
      assert.ok(readFileSync(path.join(dir, '.git', 'info', 'exclude'), 'utf8').includes('/.botminter/\n'));
      assert.not.ok(existsSync(path.join(dir, '.gitignore')), 'the project .gitignore is never written');
      assert.is(git(dir, 'status', '--porcelain'), '', `bm's files stay out of the project's git in ${dir}`);
    }
  }
  const agent = (member: string, project: string, name: string) => readFileSync(path.join(ws(member, project), '.claude', 'agents', name), 'utf8');
  assert.is(agent('dev-alice', 'widget', 'shared.md'), 'alice shared\n', 'the member layer wins');
  assert.is(agent('qe-quinn', 'widget', 'shared.md'), 'widget shared\n', 'the project layer beats the team layer');
  assert.is(agent('qe-quinn', 'gadget', 'shared.md'), 'team shared\n');
  assert.is(agent('reviewer-rita', 'gadget', 'helper.md'), 'team helper\n');
  assert.is(readlinkSync(path.join(ws('qe-quinn', 'widget'), '.claude', 'agents', 'shared.md')), '../../.botminter/projects/widget/coding-agent/agents/shared.md');

  const quiet = workspacesSnapshot();
  const again = await sandbox.ok(['teams', 'sync']);
  assert.match(again.stdout, /Synced 6 workspace\(s\): 0 created, 0 updated, 6 unchanged, 0 failed/);
  assert.match(again.stdout, /Nothing to do/);
  assert.equal(workspacesSnapshot(), quiet, 'a sync with nothing to do wrote to a workspace');
  const noop = await syncJson(['--dry-run']);
  assert.equal(noop.workspaces.map((w) => w.action), Array(6).fill('nothing'));
});

test('a second sync pulls, repairs symlinks and keeps a local ralph.yml edit', async () => {
  const { widget } = await setUpTeam(true);

  writeFileSync(path.join(widget.seed, 'README.md'), '# widget v2\n');
  git(widget.seed, 'commit', '-q', '-am', 'v2');
  git(widget.seed, 'push', '-q', widget.bare, 'main');
  unlinkSync(path.join(ws('dev-alice', 'widget'), 'PROMPT.md'));
  const claude = path.join(ws('qe-quinn', 'gadget'), 'CLAUDE.md');
  unlinkSync(claude);
  symlinkSync(path.join(ws('qe-quinn', 'gadget'), '.botminter', 'members', 'qe-quinn', 'CLAUDE.md'), claude);
  const prompt = path.join(ws('reviewer-rita', 'widget'), 'PROMPT.md');
  unlinkSync(prompt);
  symlinkSync('.botminter/members/nobody/PROMPT.md', prompt);
  const edited = path.join(ws('dev-alice', 'widget'), 'ralph.yml');
  appendFileSync(edited, '# my local tweak\n');
  const myEdit = readFileSync(edited, 'utf8');

  const before = snapshot(sandbox.workzone);
  const plan = byLabel(await syncJson(['--dry-run']));
  assert.equal(snapshot(sandbox.workzone), before, '--dry-run wrote to disk');
  assert.is(plan['dev-alice/widget'].action, 'update');
  assert.is(plan['qe-quinn/gadget'].action, 'update');
  assert.is(plan['dev-alice/gadget'].action, 'nothing');

  const first = byLabel(await syncJson());
  assert.equal(Object.values(first).map((w) => `${w.member}/${w.project}:${w.action}`), [
    'dev-alice/gadget:unchanged', 'dev-alice/widget:updated', 'qe-quinn/gadget:updated', 'qe-quinn/widget:updated', 'reviewer-rita/gadget:unchanged', 'reviewer-rita/widget:updated',
  ]);
  for (const member of MEMBERS) assert.is(readFileSync(path.join(ws(member, 'widget'), 'README.md'), 'utf8'), '# widget v2\n', `${member}/widget fast-forwarded`);
  assert.is(readlinkSync(path.join(ws('dev-alice', 'widget'), 'PROMPT.md')), '.botminter/members/dev-alice/PROMPT.md', 'missing symlink recreated');
  assert.is(readlinkSync(claude), '.botminter/members/qe-quinn/CLAUDE.md', 'absolute symlink made relative');
  assert.is(readlinkSync(prompt), '.botminter/members/reviewer-rita/PROMPT.md', 'broken symlink repaired');
  assert.is(readFileSync(edited, 'utf8'), myEdit, 'a local edit survives while the member\'s ralph.yml is unchanged');

  commitToTeam({ 'members/dev-alice/ralph.yml': `${readFileSync(path.join(teamRepo(), 'members', 'dev-alice', 'ralph.yml'), 'utf8')}# team change\n` }, 'tune alice');
  const second = await sandbox.bm(['teams', 'sync', '--json']);
  assert.is(second.code, 0, second.stderr);
  const results = byLabel(JSON.parse(second.stdout) as Report);
  assert.is(results['dev-alice/widget'].action, 'updated');
  assert.ok(readFileSync(edited, 'utf8').endsWith('# team change\n'), 'the member\'s new ralph.yml is in place');
  assert.not.ok(readFileSync(edited, 'utf8').includes('# my local tweak'));
  assert.is(readFileSync(`${edited}.edited`, 'utf8'), myEdit, 'the edited copy is kept beside it');
  assert.match(second.stderr, /Warning:.*dev-alice\/widget\/ralph\.yml had local edits.*ralph\.yml\.edited/);
  assert.ok(readFileSync(path.join(ws('dev-alice', 'gadget'), 'ralph.yml'), 'utf8').endsWith('# team change\n'), 'an unedited copy is simply refreshed');
  assert.not.ok(existsSync(path.join(ws('dev-alice', 'gadget'), 'ralph.yml.edited')));
  assert.is(results['qe-quinn/widget'].action, 'updated', '.botminter pulled the new team commit');
  assert.is(git(path.join(ws('qe-quinn', 'widget'), '.botminter'), 'rev-parse', 'HEAD'), git(teamRepo(), 'rev-parse', 'HEAD'));
});

test('a broken project URL and a file in the way fail only their workspaces', async () => {
  sandbox = createSandbox();
  const widget = projectRemote('widget');
  const missing = path.join(sandbox.dir, 'remotes', 'ghost.git');
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github',
    '--project', widget.bare, '--project', missing, '--hire', 'dev:alice', '--hire', 'qe:quinn']);
  mkdirSync(path.join(teamDir(), 'qe-quinn'), { recursive: true });
  writeFileSync(ws('qe-quinn', 'widget'), 'not a folder\n');

  const run = await sandbox.bm(['teams', 'sync', '--json']);
  assert.is(run.code, 1);
  const results = byLabel(JSON.parse(run.stdout) as Report);
  assert.is(results['dev-alice/widget'].action, 'created');
  assert.ok(existsSync(path.join(ws('dev-alice', 'widget'), '.botminter', 'botminter.yml')));
  for (const label of ['dev-alice/ghost', 'qe-quinn/ghost']) {
    assert.is(results[label].action, 'failed');
    assert.match(results[label].error ?? '', /ghost/);
  }
  assert.is(results['qe-quinn/widget'].action, 'failed');
  assert.match(results['qe-quinn/widget'].error ?? '', /A file is where the workspace folder should be/);
  // Under --json the closing error is one JSON object, the last line on stderr.
  const { error } = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '') as { error: { message: string; exitCode: number } };
  assert.match(error.message, /^3 of 4 workspace\(s\) failed/);
  assert.match(error.message, /qe-quinn\/widget: A file is where/);
  assert.match(error.message, /dev-alice\/ghost: /);
  assert.not.ok(existsSync(ws('dev-alice', 'ghost')), 'nothing half-made is left for a failed clone');
  assert.equal(readdirSync(path.join(teamDir(), 'dev-alice')), ['widget'], 'no staging folder is left behind');

  rmSync(ws('qe-quinn', 'widget'));
  const text = await sandbox.bm(['teams', 'sync']);
  assert.is(text.code, 1);
  assert.match(text.stdout, /Synced 4 workspace\(s\): 1 created, 0 updated, 1 unchanged, 2 failed/);
  assert.match(text.stderr, /^failed +dev-alice\/ghost: /m, 'one progress line per workspace when not a TTY');
  assert.match(text.stderr, /^created +qe-quinn\/widget$/m);
});

test('a checkout in the way and a leftover index.lock are reported, not overwritten', async () => {
  sandbox = createSandbox();
  const widget = projectRemote('widget');
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github',
    '--project', widget.bare, '--hire', 'dev:alice', '--hire', 'qe:quinn']);
  const squatter = ws('qe-quinn', 'widget');
  git(sandbox.dir, 'clone', '-q', widget.bare, squatter);
  writeFileSync(path.join(squatter, 'work.txt'), 'uncommitted work\n');
  await sandbox.ok(['teams', 'sync', 'dev-alice']);
  const first = await sandbox.bm(['teams', 'sync']);
  assert.is(first.code, 1);
  assert.match(first.stderr, /qe-quinn\/widget: A git checkout is in the way/);
  assert.is(readFileSync(path.join(squatter, 'work.txt'), 'utf8'), 'uncommitted work\n', 'the checkout is untouched');

  commitToTeam({ 'knowledge/new.md': 'news\n' }, 'news');
  writeFileSync(path.join(ws('dev-alice', 'widget'), '.botminter', '.git', 'index.lock'), '');
  const second = await sandbox.bm(['teams', 'sync', 'dev-alice']);
  assert.is(second.code, 1);
  assert.match(second.stderr, /leftover .*index\.lock/);
});

test('a member hired after the first sync; sync of named members; --push', async () => {
  const { teamRemote } = await setUpTeam(true);
  await sandbox.ok(['hire', 'architect', '--name', 'archie']);
  const only = await syncJson(['architect-archie']);
  assert.equal(only.workspaces.map((w) => `${w.member}/${w.project}:${w.action}`), ['architect-archie/gadget:created', 'architect-archie/widget:created']);
  assert.ok(existsSync(path.join(ws('architect-archie', 'widget'), '.botminter', 'members', 'architect-archie', 'botminter.yml')));

  const pushed = await sandbox.ok(['teams', 'sync', '--push', '--json']);
  assert.is(git(teamRemote, 'rev-parse', 'main'), git(teamRepo(), 'rev-parse', 'HEAD'), '--push pushed the team repo');
  const all = JSON.parse(pushed.stdout) as Report;
  assert.equal(all.summary, { total: 8, created: 0, updated: 6, unchanged: 2, failed: 0 }, 'the others pull the hire commit');

  const unknown = await sandbox.bm(['teams', 'sync', 'dev-nobody']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /Member 'dev-nobody' not found/);
  const badJobs = await sandbox.bm(['teams', 'sync', '--jobs', '0']);
  assert.is(badJobs.code, 2);
});

test('a team without projects gets one git-initialised workspace per member', async () => {
  sandbox = createSandbox();
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'solo', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github']);
  const none = await sandbox.ok(['teams', 'sync']);
  assert.match(none.stdout, /No members hired/);
  await sandbox.ok(['hire', 'dev', '--name', 'alice']);
  const report = await syncJson();
  const dir = path.join(sandbox.workzone, 'solo', 'dev-alice');
  assert.equal(report.workspaces.map((w) => [w.member, w.project, w.path, w.action]), [['dev-alice', null, dir, 'created']]);
  assert.ok(existsSync(path.join(dir, '.git')));
  assert.is(git(dir, 'status', '--porcelain'), '');
  const ralph = readFileSync(path.join(dir, 'ralph.yml'), 'utf8');
  assert.ok(ralph.includes('- .botminter/members/dev-alice/coding-agent/skills'));
  assert.not.ok(ralph.includes('projects/'), 'no project skill dir without projects');
  assert.is(readlinkSync(path.join(dir, 'PROMPT.md')), '.botminter/members/dev-alice/PROMPT.md');
});

test.run();
