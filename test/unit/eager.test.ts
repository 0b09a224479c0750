/**
 * tasks/eager.mjs, which marks a bundle's top-level functions for eager compilation: the marked
 * code must do what the bundle did, hoisting included, and its source map must still point each
 * piece of code at its source.
 */
import { SourceMap } from 'node:module';
import { transformSync } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { markEager } from '../../tasks/eager.mjs';

// Shaped like an esbuild bundle: helpers, module initializers, a command with an async `run`.
const BUNDLE = `"use strict";
var __esm = (fn, res) => function __init() {
  return fn && (res = (0, fn[Object.getOwnPropertyNames(fn)[0]])(fn = 0)), res;
};
var early = later();
function later() {
  return helper() + 1;
}
function helper() {
  return 41;
}
function twice(a) {
  return a * 2;
}
async function fetched(n) {
  return twice(n);
}
var value;
var init_x = __esm({
  "lib/x.ts"() {
    value = twice(21);
  }
});
class Base {
  name() {
    return "base";
  }
}
var command = {
  name: "c",
  async run(n) {
    init_x();
    return [early, value, await fetched(n), this.name, twice.name, command.run.name];
  },
  Child: class extends Base {
    name() {
      return super.name() + "!";
    }
  }
};
module.exports = command;
`;

function load(code: string): { run(n: number): Promise<unknown[]>; Child: new () => { name(): string } } {
  const module = { exports: {} as never };
  new Function('module', code)(module);
  return module.exports;
}

test('top-level functions, initializers and methods become parenthesized expressions, but what runs before a function keeps it a declaration', async () => {
  const { code } = markEager(BUNDLE, undefined);
  assert.ok(code.includes('var twice = (function twice(a) {'), code);
  assert.ok(code.includes('var fetched = (async function fetched(n) {'), code);
  assert.ok(code.includes('"lib/x.ts": (function() {'), code);
  assert.ok(code.includes('run: (async function(n) {'), code);
  assert.ok(code.includes('\nfunction later() {') && code.includes('\nfunction helper() {'), 'called before its place, directly or not: still hoisted');
  const [before, after] = [load(BUNDLE), load(code)];
  assert.equal(await after.run(3), await before.run(3));
  assert.equal(await after.run(3), [42, 42, 6, 'c', 'twice', 'run']);
  assert.is(new after.Child().name(), 'base!');
});

test('the source map still points each name at its source', () => {
  const source = BUNDLE.replace('var __esm', '// a comment\nvar __esm');
  const built = transformSync(source, { sourcemap: 'external', sourcefile: 'bundle.js', minifyWhitespace: false });
  const before = { code: built.code, map: JSON.parse(built.map) };
  const after = markEager(before.code, before.map);
  const where = (code: string, map: SourceMap, token: string) => {
    const at = code.indexOf(token);
    const lines = code.slice(0, at).split('\n');
    const entry = map.findEntry(lines.length - 1, lines.at(-1)!.length);
    return 'originalLine' in entry ? [entry.originalLine, entry.originalColumn] : undefined;
  };
  for (const token of ['twice(a)', 'fetched(n)', 'value = twice(21)', 'init_x();', 'helper() + 1', 'a * 2']) {
    const original = where(before.code, new SourceMap(before.map), token);
    assert.ok(original, token);
    assert.equal(where(after.code, new SourceMap(after.map!), token), original, token);
  }
});

test.run();
