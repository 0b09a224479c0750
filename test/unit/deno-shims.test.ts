/**
 * The Deno shims (lib/deno-shims) stand in for Node built-ins in the Deno build of the compile
 * cache. The path and URL ones are pure functions: here they must agree with Node's own.
 */
import nodePath from 'node:path';
import { fileURLToPath as nodeFileURLToPath, pathToFileURL as nodePathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as shimPath from '../../lib/deno-shims/node-path.mjs';
import * as shimUrl from '../../lib/deno-shims/node-url.mjs';

const PATHS = [
  '', '.', '..', '/', '//', '///a', 'a', 'a/', 'a//b', './a', '../a', 'a/..', 'a/../', 'a/../..', '/a/..', '/..', '/../a',
  '/a/b/c', '/a/b/c/', '/a/./b/../c', 'a/b/../../..', '.hidden', '/x/.hidden', 'file.txt', 'file.tar.gz', 'a.', 'a..', '.a.b',
  '/a/b.md/', 'dir/sub/', '~/x', 'with space/and#hash', '/a/b//c//', 'a/./', './', '../', '../../x/../y',
];

test('the path shim agrees with node:path on every function bm uses', () => {
  for (const p of PATHS) {
    for (const fn of ['normalize', 'dirname', 'basename', 'extname', 'isAbsolute'] as const) {
      assert.equal(shimPath[fn](p), nodePath[fn](p), `${fn}(${JSON.stringify(p)})`);
    }
    assert.equal(shimPath.basename(p, '.txt'), nodePath.basename(p, '.txt'), `basename(${JSON.stringify(p)}, '.txt')`);
    assert.equal(shimPath.resolve(p), nodePath.resolve(p), `resolve(${JSON.stringify(p)})`);
    for (const q of ['', 'b', '../c', '/d/e', 'f/']) {
      assert.equal(shimPath.join(p, q), nodePath.join(p, q), `join(${JSON.stringify(p)}, ${JSON.stringify(q)})`);
      assert.equal(shimPath.resolve(p, q), nodePath.resolve(p, q), `resolve(${JSON.stringify(p)}, ${JSON.stringify(q)})`);
      assert.equal(shimPath.relative(p, q), nodePath.relative(p, q), `relative(${JSON.stringify(p)}, ${JSON.stringify(q)})`);
    }
  }
  assert.equal(shimPath.join(), nodePath.join());
  assert.equal(shimPath.resolve(), nodePath.resolve());
  assert.equal([shimPath.sep, shimPath.delimiter], [nodePath.sep, nodePath.delimiter]);
  assert.is(shimPath.posix.join('a', 'b'), 'a/b');
  assert.throws(() => shimPath.join('a', 1 as unknown as string), /must be of type string/);
});

test('the URL shim agrees with node:url on file URLs', () => {
  for (const p of ['/a/b', '/with space/x', '/per%cent', '/hash#tag', '/q?x', '/dir/', '/ünï/cödé', 'relative/x']) {
    assert.is(shimUrl.pathToFileURL(p).href, nodePathToFileURL(p).href, p);
    assert.is(shimUrl.fileURLToPath(nodePathToFileURL(p).href), nodeFileURLToPath(nodePathToFileURL(p).href), p);
  }
  assert.is(shimUrl.fileURLToPath('file://localhost/etc/x'), nodeFileURLToPath('file://localhost/etc/x'));
  assert.throws(() => shimUrl.fileURLToPath('https://example.com/x'), /scheme file/);
  assert.throws(() => shimUrl.fileURLToPath('file:///a%2Fb'), /encoded \//);
});

test.run();
