/**
 * lib/sync/refs.ts reads refs from `.git` files; each answer is checked against git's own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gitDirOf, readConfigValue, readHead, readRef, readUpstream } from '../../lib/sync/refs.ts';

let dir: string;
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

test.before.each(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bm-refs-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('HEAD, packed and loose refs, upstream and remote URL match git', () => {
  const bare = path.join(dir, 'origin.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  const seed = path.join(dir, 'seed');
  git(dir, 'clone', '-q', bare, seed);
  writeFileSync(path.join(seed, 'a'), '1');
  git(seed, 'add', 'a');
  git(seed, 'commit', '-q', '-m', 'one');
  git(seed, 'push', '-q', 'origin', 'main');
  const clone = path.join(dir, 'clone');
  git(dir, 'clone', '-q', bare, clone);
  git(clone, 'switch', '-q', '-c', 'dev-alice', '--track', 'origin/main');
  const gitDir = gitDirOf(clone);
  assert.is(gitDir, path.join(clone, '.git'));
  if (!gitDir) return;
  const head = readHead(gitDir);
  assert.equal(head, { branch: 'dev-alice', sha: git(clone, 'rev-parse', 'HEAD') });
  assert.is(readRef(gitDir, 'refs/remotes/origin/main'), git(clone, 'rev-parse', 'origin/main'), 'a packed ref');
  assert.is(readUpstream(gitDir, 'dev-alice'), 'refs/remotes/origin/main');
  assert.is(readUpstream(gitDir, 'nope'), undefined);
  assert.is(readConfigValue(gitDir, 'remote "origin"', 'url'), git(clone, 'remote', 'get-url', 'origin'));

  writeFileSync(path.join(seed, 'a'), '2');
  git(seed, 'commit', '-q', '-am', 'two');
  git(seed, 'push', '-q', 'origin', 'main');
  git(clone, 'fetch', '-q', 'origin');
  assert.is(readRef(gitDir, 'refs/remotes/origin/main'), git(clone, 'rev-parse', 'origin/main'), 'a loose ref shadows the packed one');
  git(clone, 'checkout', '-q', '--detach', 'origin/main');
  assert.equal(readHead(gitDir), { branch: null, sha: git(clone, 'rev-parse', 'HEAD') });
  assert.is(readRef(gitDir, 'refs/heads/missing'), undefined);
  assert.is(gitDirOf(dir), undefined);
});

test.run();
