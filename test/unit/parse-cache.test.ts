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
const previousHome = process.env.BM_HOME;
const parsedDir = path.join(dir, 'home', 'cache', 'parsed');
/** This file's cache entries (other test files in the same process may use the cache too). */
const entries = () => readdirSync(parsedDir).map((f) => path.join(parsedDir, f)).filter((f) => readFileSync(f, 'utf8').includes(dir));

test.before(() => {
  process.env.BM_HOME = path.join(dir, 'home');
});
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

test('the operator config is cached without its credentials, which still load on demand', () => {
  const config = path.join(dir, 'config.yml');
  const token = 'ghp_' + 'x'.repeat(36);
  writeFileSync(config, `teams:\n  - name: alpha\n    path: /w/alpha\n    profile: scrum\n    credentials:\n      gh_token: ${token}\n  - name: beta\n    path: /w/beta\n    profile: scrum\n`, { mode: 0o600 });
  assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
  const entry = entries().find((e) => readFileSync(e, 'utf8').includes('/w/alpha'));
  assert.ok(entry, 'the config was cached');
  assert.not.ok(readFileSync(entry as string, 'utf8').includes(token), 'the token is not in the cache entry');
  assert.not.ok(readFileSync(entry as string, 'utf8').includes('teams:'), 'nor is the text');
  const hit = loadConfig(config);
  assert.is(hit.teams?.[0].credentials?.gh_token, token, 'a cache hit still has the token');
  assert.is(hit.teams?.[1].credentials, undefined);
  updateConfig((c) => {
    const beta = c.teams?.find((t) => t.name === 'beta');
    if (beta) beta.credentials = { webhook_secret: 'hook' };
  }, config);
  const saved = readFileSync(config, 'utf8');
  assert.ok(saved.includes(token) && saved.includes('webhook_secret: hook'), 'a read-modify-write of a cached config keeps every credential');
  assert.is(loadConfig(config).teams?.[1].credentials?.webhook_secret, 'hook');
});

test.run();
