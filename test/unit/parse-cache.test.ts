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
import { build, checkStamp, readYaml, teamManifestSchema } from '../../lib/schema.ts';

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

test('a value this build\'s schema accepted is not checked again until the text or the build changes', () => {
  let checks = 0;
  const counted = z.looseObject({ name: z.string() }).check(z.refine(() => ++checks > 0));
  const previousBuild = build.id;
  try {
    build.id = undefined;
    writeFileSync(file, 'name: delta\n');
    readYaml(file, counted);
    readYaml(file, counted);
    assert.is(checks, 2, 'running from the sources (no build), every read is checked');
    assert.is(checkStamp(counted), undefined, 'an unnamed schema has no verdicts');
    // The team manifest's schema is named: a build remembers its verdicts.
    const manifest = path.join(dir, 'botminter.yml');
    writeFileSync(manifest, 'name: delta\nroles:\n  - name: dev\n');
    build.id = 'one';
    const first = readYaml(manifest, teamManifestSchema).value;
    const [entry] = entries().filter((e) => readFileSync(e, 'utf8').includes('botminter.yml'));
    assert.is(JSON.parse(readFileSync(entry, 'utf8')).checked.by, 'team-manifest@one');
    // A verdict is what the schema made of the value, and it is what a hit returns.
    writeFileSync(entry, readFileSync(entry, 'utf8').replace(/("checked":.*)"dev"/, '$1"dev-checked"'));
    assert.equal(readYaml(manifest, teamManifestSchema).value.roles, [{ name: 'dev-checked' }], 'the verdict of this build was used');
    build.id = 'two';
    assert.equal(readYaml(manifest, teamManifestSchema).value, first, 'another build checks the value again');
    assert.is(JSON.parse(readFileSync(entry, 'utf8')).checked.by, 'team-manifest@two');
    writeFileSync(manifest, 'name: delta\nroles:\n  - name: qe\n');
    assert.equal(readYaml(manifest, teamManifestSchema).value.roles, [{ name: 'qe' }], 'a changed text is parsed and checked');
    writeFileSync(manifest, 'name: [delta]\n');
    assert.throws(() => readYaml(manifest, teamManifestSchema), /botminter\.yml:1:7: name: expected string/, 'a verdict never hides an invalid file');
  } finally {
    build.id = previousBuild;
  }
});

test('the operator config never goes through the cache: no entry holds its text or its tokens', () => {
  const config = path.join(dir, 'config.yml');
  const token = 'ghp_' + 'x'.repeat(36);
  writeFileSync(config, `teams:\n  - name: alpha\n    path: /w/alpha\n    profile: scrum\n    credentials:\n      gh_token: ${token}\n`, { mode: 0o600 });
  assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
  assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
  assert.equal(entries().filter((e) => readFileSync(e, 'utf8').includes('/w/alpha')), [], 'nothing cached for the config');
  // A build keeps only a verdict on the config: a fingerprint of its text, never the text.
  const previousBuild = build.id;
  build.id = 'one';
  try {
    assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token);
    const verdicts = readdirSync(parsedDir).filter((f) => f.endsWith('.verdict.json')).map((f) => readFileSync(path.join(parsedDir, f), 'utf8')).filter((v) => v.includes(config));
    assert.is(verdicts.length, 1, 'the verdict was remembered');
    assert.not.ok(verdicts[0].includes(token) || verdicts[0].includes('/w/alpha'), 'the verdict holds no part of the text');
    assert.is(loadConfig(config).teams?.[0].credentials?.gh_token, token, 'a config read with its verdict');
    writeFileSync(config, readFileSync(config, 'utf8').replace('profile: scrum', 'profile: [scrum]'));
    assert.throws(() => loadConfig(config), /config\.yml:\d+:\d+: teams\.0\.profile: expected string/, 'an edited config is checked again');
    writeFileSync(config, readFileSync(config, 'utf8').replace('profile: [scrum]', 'profile: scrum'));
  } finally {
    build.id = previousBuild;
  }
  updateConfig((c) => {
    const alpha = c.teams?.find((t) => t.name === 'alpha');
    if (alpha) alpha.credentials = { ...alpha.credentials, webhook_secret: 'hook' };
  }, config);
  const saved = readFileSync(config, 'utf8');
  assert.ok(saved.includes(token) && saved.includes('webhook_secret: hook'), 'a read-modify-write keeps every credential');
});

test.run();
