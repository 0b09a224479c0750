/**
 * lib/workspaces.ts, the one workspace-discovery function: members are only `members/*` (never
 * knowledge/, projects/ or other repo folders) and every member gets every project's workspace,
 * in a stable order.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTeam, type Team } from '../../lib/team.ts';
import { discoverWorkspaces, expectedWorkspaces } from '../../lib/workspaces.ts';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-workspaces-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

/** A team repo on disk with decoy folders that look like members; projects listed out of order. */
function makeTeam(projects: string[]): Team {
  const teamDir = path.join(dir, 'alpha');
  const repo = path.join(teamDir, 'team');
  const list = projects.map((p) => `  - name: ${p}\n    fork_url: /srv/${p}.git\n`).join('');
  mkdirSync(repo, { recursive: true });
  writeFileSync(path.join(repo, 'botminter.yml'), `name: scrum\nschema_version: v2\n${projects.length ? `projects:\n${list}` : ''}`);
  for (const d of ['knowledge', 'invariants', 'projects/zeta/knowledge', 'coding-agent/agents', 'skills', 'formations/local', 'team', 'members/.hidden', 'members/qe-02', 'members/dev-01']) {
    mkdirSync(path.join(repo, d), { recursive: true });
  }
  writeFileSync(path.join(repo, 'members', '.gitkeep'), '');
  writeFileSync(path.join(repo, 'members', 'not-a-dir'), '');
  return loadTeam({ name: 'alpha', path: teamDir, profile: 'scrum' });
}

test('members are only the folders under members/, sorted', () => {
  const team = makeTeam([]);
  const found = expectedWorkspaces(team);
  assert.equal(found.map((w) => w.member), ['dev-01', 'qe-02']);
  assert.equal(found.map((w) => [w.project, w.path]), [[null, path.join(dir, 'alpha', 'dev-01')], [null, path.join(dir, 'alpha', 'qe-02')]]);
});

test('a member with several projects gets every workspace, members then projects in sorted order', () => {
  const team = makeTeam(['web', 'api', 'cli']);
  const labels = expectedWorkspaces(team).map((w) => `${w.member}/${w.project}`);
  assert.equal(labels, ['dev-01/api', 'dev-01/cli', 'dev-01/web', 'qe-02/api', 'qe-02/cli', 'qe-02/web']);
  assert.equal(expectedWorkspaces(team, ['qe-02', 'dev-01']).map((w) => `${w.member}/${w.project}`), labels, 'the order does not depend on the caller\'s');
  assert.is(expectedWorkspaces(team)[0].path, path.join(dir, 'alpha', 'dev-01', 'api'));
});

test('discovery returns only provisioned workspaces (a .botminter folder), all of them', () => {
  const team = makeTeam(['web', 'api']);
  const alpha = path.join(dir, 'alpha');
  mkdirSync(path.join(alpha, 'qe-02', 'web', '.botminter'), { recursive: true });
  mkdirSync(path.join(alpha, 'qe-02', 'api', '.botminter'), { recursive: true });
  mkdirSync(path.join(alpha, 'dev-01', 'web'), { recursive: true });
  mkdirSync(path.join(alpha, 'dev-01', 'api'), { recursive: true });
  writeFileSync(path.join(alpha, 'dev-01', 'api', '.botminter'), 'a file is not a workspace');
  mkdirSync(path.join(alpha, 'dev-01', 'stray', '.botminter'), { recursive: true });
  const found = discoverWorkspaces(team);
  assert.equal(found.map((w) => `${w.member}/${w.project}`), ['qe-02/api', 'qe-02/web'], 'both of a multi-project member\'s workspaces, nothing else');
  assert.ok(found.every((w) => w.exists));
  assert.equal(discoverWorkspaces(team, ['dev-01']), []);
});

test.run();
