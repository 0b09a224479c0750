/**
 * `bm knowledge list|show|search` on a v2 team with files at all four scopes, driven through
 * the real CLI: grouping and order, `--json`, the effective stack of one member on one project,
 * filters, showing files (including through symlinks), and every way out of the knowledge
 * directories being refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox, type Sandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let repo: string;

/** Files this test adds to the team repo, relative to it. */
const FILES: Record<string, string> = {
  'knowledge/sub/nested.md': '# Nested\n\nA note kept in a sub-folder.\n',
  'projects/widget/knowledge/build.md': '# Building the widget\n\nRun `make widget` to build.\nThe widget build needs Go 1.22.\n',
  'projects/widget/invariants/ci-green.md': '# CI stays green\n\nNever merge a widget change while CI is red.\n',
  'members/dev-alice/knowledge/editor-tips.md': '# Editor tips\n\nAlice formats on save.\n',
  'members/dev-alice/projects/widget/knowledge/legacy-parser.md': '# Legacy parser\n\nThe widget parser is old; mention the widget build only in passing.\n',
  'members/dev-alice/projects/widget/invariants/parser-tests.md': '# Parser tests\n\nEvery parser change adds a test.\n',
};

test.before(async () => {
  sandbox = createSandbox();
  await sandbox.ok(['init', '--non-interactive', '--team-name', 'kb', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--project', path.join(sandbox.dir, 'widget.git')]);
  await sandbox.ok(['hire', 'dev', '--name', 'alice']);
  await sandbox.ok(['hire', 'qe', '--name', 'quinn']);
  repo = path.join(sandbox.workzone, 'kb', 'team');
  for (const [rel, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), text);
  }
  writeFileSync(path.join(repo, 'knowledge', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]));
  writeFileSync(path.join(sandbox.dir, 'outside-secret.txt'), 'zebra-secret-marker\n');
  symlinkSync(path.join(sandbox.dir, 'outside-secret.txt'), path.join(repo, 'knowledge', 'escape.md'));
  symlinkSync('../botminter.yml', path.join(repo, 'knowledge', 'manifest.md'));
  symlinkSync('../../../knowledge/sub/nested.md', path.join(repo, 'members', 'dev-alice', 'knowledge', 'shared.md'));
});
test.after(() => sandbox.cleanup());

interface Listing { team: string; schema: string; scopes: { scope: string; member?: string; project?: string; knowledge: string[]; invariants: string[] }[] }
const key = (s: Listing['scopes'][number]) => [s.scope, s.member ?? '', s.project ?? ''].join(':');

test('list --json: every scope, broadest first, with repo-relative paths', async () => {
  const listing = await sandbox.json<Listing>(['knowledge', 'list', '--json']);
  assert.is(listing.team, 'kb');
  assert.is(listing.schema, 'v2');
  assert.equal(listing.scopes.map(key), [
    'team::', 'project::widget', 'member:dev-alice:', 'member:qe-quinn:', 'member-project:dev-alice:widget', 'member-project:qe-quinn:widget',
  ]);
  const [team, project, alice, , aliceWidget, quinnWidget] = listing.scopes;
  assert.ok(team.knowledge.includes('knowledge/sub/nested.md'), 'files in sub-folders are listed');
  assert.ok(team.knowledge.includes('knowledge/commit-convention.md'), 'profile knowledge is listed');
  assert.not.ok(team.knowledge.some((f) => f.endsWith('.gitkeep')), 'hidden files are not knowledge');
  assert.equal([...team.knowledge].sort(), team.knowledge, 'sorted');
  assert.equal(project.knowledge, ['projects/widget/knowledge/build.md']);
  assert.equal(project.invariants, ['projects/widget/invariants/ci-green.md']);
  assert.equal(alice.knowledge, ['members/dev-alice/knowledge/editor-tips.md', 'members/dev-alice/knowledge/shared.md']);
  assert.equal(aliceWidget.knowledge, ['members/dev-alice/projects/widget/knowledge/legacy-parser.md']);
  assert.equal(aliceWidget.invariants, ['members/dev-alice/projects/widget/invariants/parser-tests.md']);
  assert.equal([quinnWidget.knowledge, quinnWidget.invariants], [[], []]);
  assert.equal(await sandbox.json(['knowledge', 'list', '--json']), listing, 'deterministic');
});

test('list: text groups by scope and says (none) for empty directories', async () => {
  const { stdout } = await sandbox.ok(['knowledge', 'list']);
  assert.match(stdout, /^Team: kb \(schema v2\)\n/);
  const headings = stdout.split('\n').filter((l) => l.endsWith('scope:') || / scope \(.*\):$/.test(l));
  assert.equal(headings, [
    'Team scope:', 'Project scope (widget):', 'Member scope (dev-alice):', 'Member scope (qe-quinn):',
    'Member+project scope (dev-alice/widget):', 'Member+project scope (qe-quinn/widget):',
  ]);
  assert.match(stdout, /Project scope \(widget\):\n {2}projects\/widget\/knowledge\/\n {4}build\.md\n {2}projects\/widget\/invariants\/\n {4}ci-green\.md\n/);
  assert.match(stdout, /Member\+project scope \(qe-quinn\/widget\):\n {2}members\/qe-quinn\/projects\/widget\/knowledge\/\n {4}\(none\)\n {2}members\/qe-quinn\/projects\/widget\/invariants\/\n {4}\(none\)\n/);
  assert.match(stdout, /\n {4}sub\/nested\.md\n/);
});

test('list --member --project: the stack that member sees on that project', async () => {
  const listing = await sandbox.json<Listing>(['knowledge', 'list', '--member', 'dev-alice', '--project', 'widget', '--json']);
  assert.equal(listing.scopes.map(key), ['team::', 'project::widget', 'member:dev-alice:', 'member-project:dev-alice:widget']);
  const { stdout } = await sandbox.ok(['knowledge', 'list', '--member', 'dev-alice', '--project', 'widget']);
  assert.match(stdout, /What dev-alice sees on widget, broadest first\./);
  assert.not.match(stdout, /qe-quinn/);
});

test('list filters: --scope, --member alone; bad values are rejected', async () => {
  const members = await sandbox.json<Listing>(['knowledge', 'list', '--scope', 'member', '--json']);
  assert.equal(members.scopes.map(key), ['member:dev-alice:', 'member:qe-quinn:']);
  const quinn = await sandbox.json<Listing>(['knowledge', 'list', '--member', 'qe-quinn', '--json']);
  assert.equal(quinn.scopes.map(key), ['team::', 'project::widget', 'member:qe-quinn:', 'member-project:qe-quinn:widget']);

  const scope = await sandbox.bm(['knowledge', 'list', '--scope', 'galaxy']);
  assert.is(scope.code, 2);
  assert.match(scope.stderr, /Unknown scope 'galaxy'\. Valid scopes: team, project, member, member-project\./);
  const member = await sandbox.bm(['knowledge', 'list', '--member', 'dev-bob']);
  assert.is(member.code, 1);
  assert.match(member.stderr, /Member 'dev-bob' not found in team 'kb'\. Members: dev-alice, qe-quinn\./);
  const project = await sandbox.bm(['knowledge', 'list', '--project', 'gadget']);
  assert.is(project.code, 1);
  assert.match(project.stderr, /Project 'gadget' not found.*Projects: widget\./);
});

test('show prints a file exactly, by relative or absolute path and through an inside symlink', async () => {
  const rel = 'members/dev-alice/projects/widget/invariants/parser-tests.md';
  assert.is((await sandbox.ok(['knowledge', 'show', rel])).stdout, FILES[rel]);
  assert.is((await sandbox.ok(['knowledge', 'show', path.join(repo, 'projects/widget/knowledge/build.md')])).stdout, FILES['projects/widget/knowledge/build.md']);
  assert.is((await sandbox.ok(['knowledge', 'show', 'members/dev-alice/knowledge/shared.md'])).stdout, FILES['knowledge/sub/nested.md']);
  assert.is((await sandbox.ok(['knowledge', 'show', 'knowledge/sub/../sub/nested.md'])).stdout, FILES['knowledge/sub/nested.md']);
});

test('show refuses paths outside the knowledge directories and explains missing or binary files', async () => {
  // A member can commit anything: a FIFO must be refused, not block the command.
  execFileSync('mkfifo', [path.join(repo, 'knowledge', 'pipe.md')]);
  const cases: [string, RegExp][] = [
    ['knowledge/pipe.md', /knowledge\/pipe\.md is not a regular file/],
    ['botminter.yml', /Path 'botminter\.yml' is not within a knowledge or invariant directory/],
    ['knowledge/../botminter.yml', /is not within a knowledge or invariant directory/],
    ['members/dev-alice/PROMPT.md', /is not within a knowledge or invariant directory/],
    ['knowledge/../../x', /resolves outside the team repo/],
    [path.join(sandbox.dir, 'outside-secret.txt'), /resolves outside the team repo/],
    ['knowledge/escape.md', /resolves outside the team repo/],
    ['knowledge/manifest.md', /resolves to botminter\.yml, outside the knowledge and invariant directories/],
    ['knowledge/missing.md', /File not found: knowledge\/missing\.md\. Run `bm knowledge list`/],
    ['knowledge/logo.png', /knowledge\/logo\.png is a binary file/],
    ['knowledge/sub', /knowledge\/sub is a directory/],
  ];
  for (const [given, pattern] of cases) {
    const result = await sandbox.bm(['knowledge', 'show', given]);
    assert.is(result.code, 1, `show ${given} must fail`);
    assert.match(result.stderr, pattern, `show ${given}`);
    assert.is(result.stdout, '', `show ${given} prints nothing`);
    assert.not.match(result.stderr, /zebra-secret-marker|schema_version/, 'nothing of the target leaks');
  }
  rmSync(path.join(repo, 'knowledge', 'pipe.md'));
});

interface Search { query: string; terms: string[]; searched: number; matched: number; hits: { scope: string; member?: string; project?: string; path: string; line: number; snippet: string; score: number }[] }

test('search ranks files with every word, best first, with line numbers and scopes', async () => {
  const result = await sandbox.json<Search>(['knowledge', 'search', 'widget', 'build', '--json']);
  assert.equal(result.terms, ['widget', 'build']);
  const files = [...new Set(result.hits.map((h) => h.path))];
  assert.equal(files, ['projects/widget/knowledge/build.md', 'members/dev-alice/projects/widget/knowledge/legacy-parser.md'],
    'build.md (name, heading, phrase) outranks a passing mention; files lacking a word are left out');
  const first = result.hits[0];
  assert.equal({ ...first, score: 0 }, { scope: 'project', project: 'widget', path: 'projects/widget/knowledge/build.md', line: 1, snippet: '# Building the widget', score: 0 });
  assert.ok(result.hits[0].score > result.hits[result.hits.length - 1].score);
  const legacy = result.hits.find((h) => h.path.includes('legacy-parser'));
  assert.equal([legacy?.scope, legacy?.member, legacy?.project, legacy?.line], ['member-project', 'dev-alice', 'widget', 3]);

  const { stdout } = await sandbox.ok(['knowledge', 'search', 'Widget', 'BUILD']);
  assert.match(stdout, /^projects\/widget\/knowledge\/build\.md {2}\(project widget\)\n {5}1: # Building the widget\n/);
  assert.match(stdout, /members\/dev-alice\/projects\/widget\/knowledge\/legacy-parser\.md {2}\(member\+project dev-alice\/widget\)/);
});

test('search skips binary files and symlinks that leave the knowledge directories', async () => {
  const secret = await sandbox.json<Search>(['knowledge', 'search', 'zebra-secret-marker', '--json']);
  assert.equal(secret.hits, []);
  const manifest = await sandbox.json<Search>(['knowledge', 'search', 'schema_version', '--json']);
  assert.equal(manifest.hits, []);
  const shared = await sandbox.json<Search>(['knowledge', 'search', 'sub-folder', '--json']);
  assert.equal(shared.hits.map((h) => h.path).sort(), ['knowledge/sub/nested.md', 'members/dev-alice/knowledge/shared.md'], 'an inside symlink is searched');
  const none = await sandbox.ok(['knowledge', 'search', 'nothing-matches-this']);
  assert.match(none.stdout, /No matches for 'nothing-matches-this' in \d+ file\(s\)\./);
  const empty = await sandbox.bm(['knowledge', 'search', ' ']);
  assert.is(empty.code, 2);
  assert.match(empty.stderr, /search query is empty/);
});

test('the team repo was only read', () => {
  const status = execFileSync('git', ['-C', repo, 'status', '--porcelain'], { env: sandbox.env }).toString();
  assert.equal(status.split('\n').filter(Boolean).map((l) => l.slice(3)).sort(), ['knowledge/escape.md', 'knowledge/logo.png', 'knowledge/manifest.md', 'knowledge/sub/', 'members/dev-alice/knowledge/editor-tips.md', 'members/dev-alice/knowledge/shared.md', 'members/dev-alice/projects/widget/', 'projects/widget/knowledge/build.md', 'projects/widget/invariants/ci-green.md'].sort());
  assert.is(readFileSync(path.join(repo, 'botminter.yml'), 'utf8').includes('schema_version: v2'), true);
});

test.run();
