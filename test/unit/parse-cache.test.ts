/**
 * The parse cache (lib/parse-cache.ts) behind readYaml: a hit must never hide a change to the
 * file, and a damaged or outdated entry must cost only speed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as z from 'zod/mini';
import { readYaml } from '../../lib/schema.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-parse-cache-'));
const previousHome = process.env.BM_HOME;
process.env.BM_HOME = path.join(dir, 'home');
const entries = () => readdirSync(path.join(dir, 'home', 'cache', 'parsed')).map((f) => path.join(dir, 'home', 'cache', 'parsed', f));
const schema = z.looseObject({ name: z.string(), count: z.optional(z.number()) });
const file = path.join(dir, 'thing.yml');

test.after(() => {
  if (previousHome === undefined) delete process.env.BM_HOME;
  else process.env.BM_HOME = previousHome;
  rmSync(dir, { recursive: true, force: true });
});

test('a cached value is used only for the exact text it was parsed from', () => {
  writeFileSync(file, 'name: alpha\ncount: 1\n');
  assert.equal(readYaml(file, schema).value, { name: 'alpha', count: 1 });
  assert.is(entries().length, 1, 'the parsed value was remembered');
  assert.equal(readYaml(file, schema).value, { name: 'alpha', count: 1 });
  writeFileSync(file, 'name: alpha\ncount: 2\n'); // same size, maybe the same mtime
  assert.equal(readYaml(file, schema).value, { name: 'alpha', count: 2 });
});

test('on a hit the Document is still there for editing, parsed on demand', () => {
  writeFileSync(file, '# keep me\nname: beta\n');
  readYaml(file, schema);
  const hit = readYaml(file, schema);
  hit.doc.set('count', 3);
  assert.is(hit.doc.toString(), '# keep me\nname: beta\ncount: 3\n');
});

test('a damaged entry is a miss, and an entry the schema rejects still yields a located error', () => {
  writeFileSync(file, 'name: gamma\n');
  readYaml(file, schema);
  for (const entry of entries()) writeFileSync(entry, '{"file": "torn');
  assert.equal(readYaml(file, schema).value, { name: 'gamma' });
  const [entry] = entries();
  writeFileSync(entry, readFileSync(entry, 'utf8').replace('"gamma"', '42'));
  assert.equal(readYaml(file, schema).value, { name: 'gamma' }, 'the file, not the tampered entry, decides');
  writeFileSync(file, 'count: 1\nname: [x]\n');
  assert.throws(() => readYaml(file, schema), /thing\.yml:2:7: name: expected string/);
});

test.run();
