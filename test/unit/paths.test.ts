/**
 * inside(): the plain-name shortcut gives exactly what path.resolve and path.relative give, for
 * every name and root, escapes included.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { bmHome, cacheHome, inside } from '../../lib/paths.ts';

/** What inside() is defined to do, without the shortcut. */
function reference(root: string, name: string): string {
  const resolved = path.resolve(root, name);
  const rel = path.relative(root, resolved);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? 'refused' : resolved;
}

function actual(root: string, name: string): string {
  try {
    return inside(root, name);
  } catch (error) {
    assert.match((error as Error).message, /^Refusing path/);
    return 'refused';
  }
}

const SEGMENTS = ['a', 'dev-01', 'ralph.yml', '.', '..', '...', '..a', 'a..', '.hidden', '', 'x y', 'é', '~', '@x', 'a=b', 'a\\b', '%2e%2e'];
const ROOTS = ['/tmp/team', '/tmp/team/', '/tmp/./team', '/tmp//team', '/tmp/team/..', 'relative/team', '/', '/tmp/te am'];

test('inside() agrees with path.resolve and path.relative on every name and root', () => {
  const names = new Set<string>();
  for (const a of SEGMENTS) {
    names.add(a);
    names.add(`/${a}`);
    names.add(`${a}/`);
    for (const b of SEGMENTS) {
      names.add(`${a}/${b}`);
      for (const c of ['a', '..', '.', '']) names.add(`${a}/${b}/${c}`);
    }
  }
  let checked = 0;
  for (const root of ROOTS) {
    for (const name of names) {
      assert.is(actual(root, name), reference(root, name), `inside(${JSON.stringify(root)}, ${JSON.stringify(name)})`);
      checked++;
    }
  }
  assert.ok(checked > 2000, `${checked} cases`);
  // The shortcut is taken, and stays inside.
  assert.is(inside('/tmp/team', 'members/dev-01/ralph.yml'), '/tmp/team/members/dev-01/ralph.yml');
  assert.is(actual('/tmp/team', 'members/../../etc'), 'refused');
});

test('bmHome and cacheHome, computed once, still follow the environment and, for a relative path, the working directory', () => {
  assert.is(bmHome({ BM_HOME: '/srv/bm' }), '/srv/bm');
  assert.is(bmHome({ BM_HOME: '/srv/other/' }), '/srv/other');
  assert.is(bmHome({ HOME: '/home/ann' }), '/home/ann/.botminter');
  assert.is(cacheHome({ HOME: '/home/ann' }), '/home/ann/.cache/bm');
  assert.is(cacheHome({ HOME: '/home/bob' }), '/home/bob/.cache/bm');
  assert.is(cacheHome({ XDG_CACHE_HOME: '/var/cache', HOME: '/home/ann' }), '/var/cache/bm');
  const before = process.cwd();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-paths-'));
  try {
    assert.is(bmHome({ BM_HOME: 'rel' }), path.join(before, 'rel'));
    process.chdir(dir);
    assert.is(bmHome({ BM_HOME: 'rel' }), path.join(process.cwd(), 'rel'), 'a relative BM_HOME is resolved in the new working directory');
    assert.is(cacheHome({ XDG_CACHE_HOME: 'c' }), path.join(process.cwd(), 'c', 'bm'));
  } finally {
    process.chdir(before);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
