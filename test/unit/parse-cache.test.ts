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
import { loadConfig, updateConfig } from '../../lib/config.ts';
import { readYaml } from '../../lib/schema.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-parse-cache-'));
const previousCache = process.env.XDG_CACHE_HOME;
const parsedDir = path.join(dir, 'cache', 'bm', 'parsed');
/** This file's cache entries (other test files in the same process may use the cache too). */
const entries = () => readdirSync(parsedDir).map((f) => path.join(parsedDir, f)).filter((f) => readFileSync(f, 'utf8').includes(dir));

test.before(() => {
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
});
const schema = z.looseObject({ name: z.string(), count: z.optional(z.number()) });
const file = path.join(dir, 'thing.yml');

test.after(() => {
  if (previousCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = previousCache;
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

test('the operator config never goes through the cache: no entry holds its text or its tokens', () => {
  const config = path.join(dir, 'config.yml');
  const token = 'ghp_' + 'x'.repeat(36);
  writeFileSync(config, `teams:\n  - name: alpha\n    path: /w/alpha\n    profile: scrum\n    credentials:\n      gh_token: ${token}\n`, { mode: 0o600 });
  assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
  assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
  assert.equal(entries().filter((e) => readFileSync(e, 'utf8').includes('/w/alpha')), [], 'nothing cached for the config');
  updateConfig((c) => {
    const alpha = c.teams?.find((t) => t.name === 'alpha');
    if (alpha) alpha.credentials = { ...alpha.credentials, webhook_secret: 'hook' };
  }, config);
  const saved = readFileSync(config, 'utf8');
  assert.ok(saved.includes(token) && saved.includes('webhook_secret: hook'), 'a read-modify-write keeps every credential');
});

test.run();
