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
import { build, keptByIdentity } from '../../lib/parse-cache.ts';
import { readYaml, teamManifestSchema } from '../../lib/schema.ts';
import { readState } from '../../lib/state.ts';
import { readTopology } from '../../lib/topology.ts';
import { interceptOutput } from '../support/output.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-parse-cache-'));
const previousCache = process.env.XDG_CACHE_HOME;
const parsedDir = path.join(dir, 'cache', 'bm', 'parsed');
/** This file's cache entries (other test files in the same process may use the cache too). */
const entries = () => readdirSync(parsedDir).map((f) => path.join(parsedDir, f)).filter((f) => readFileSync(f, 'utf8').includes(dir));

test.before(() => {
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
});
const schema = () => z.looseObject({ name: z.string(), count: z.optional(z.number()) });
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
  const countedSchema = z.looseObject({ name: z.string() }).check(z.refine(() => ++checks > 0));
  const counted = () => countedSchema;
  const previousBuild = build.id;
  try {
    build.id = undefined;
    writeFileSync(file, 'name: delta\n');
    readYaml(file, counted);
    readYaml(file, counted);
    assert.is(checks, 2, 'running from the sources (no build), every read is checked');
    build.id = 'one';
    readYaml(file, counted);
    readYaml(file, counted);
    assert.is(checks, 4, 'a schema without a name has no verdicts');
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

test('state and topology: a verdict holds for the text it was made on, and a bad entry is reported at every read', () => {
  const previousBuild = build.id;
  build.id = 'one';
  const stderr: string[] = [];
  const restore = interceptOutput((fd, text) => fd === 2 && stderr.push(text));
  try {
    const stateFile = path.join(dir, 'state.json');
    const entry = { pid: 123, started: '99', started_at: '2026-12-06T00:00:00Z', workspace: '/w/dev-01' };
    writeFileSync(stateFile, JSON.stringify({ members: { 'alpha/dev-01': entry } }));
    const first = readState(stateFile);
    assert.is(first.members['alpha/dev-01'].member, 'dev-01');
    assert.equal(readState(stateFile), first, 'the verdict gives what the check gave');
    const [stateEntry] = entries().filter((e) => readFileSync(e, 'utf8').includes('state.json'));
    writeFileSync(stateEntry, readFileSync(stateEntry, 'utf8').replace('"pid":123', '"pid":124'));
    assert.is(readState(stateFile).members['alpha/dev-01'].pid, 124, 'the verdict, not a new check, gave the value');
    writeFileSync(stateFile, JSON.stringify({ members: { 'alpha/dev-01': { ...entry, pid: 456 } } }));
    assert.is(readState(stateFile).members['alpha/dev-01'].pid, 456, 'a changed state is read again');
    writeFileSync(stateFile, JSON.stringify({ members: { 'alpha/dev-01': entry, 'alpha/qe-01': { pid: 'x' } } }));
    readState(stateFile);
    readState(stateFile);
    assert.is(stderr.filter((line) => line.includes('ignored 1 malformed entry')).length, 2, 'no verdict hides a malformed entry');

    const topologyFile = path.join(dir, 'topology.json');
    const member = { endpoint: { type: 'local', pid: 123, workspace: '/w/dev-01' } };
    writeFileSync(topologyFile, JSON.stringify({ formation: 'local', created_at: 'now', members: { 'dev-01': member } }));
    const topology = readTopology(topologyFile);
    assert.equal(readTopology(topologyFile), topology, 'the verdict gives what the check gave');
    writeFileSync(topologyFile, JSON.stringify({ formation: 'local', created_at: 'now', members: { 'dev-01': { endpoint: { type: 'local' } } } }));
    assert.is(readTopology(topologyFile).kind, 'corrupt', 'a changed topology is checked again');
  } finally {
    restore();
    build.id = previousBuild;
  }
});

test('a value kept by file identity: never the text, never after a change, a file just written only while its text is the same', () => {
  const ralph = path.join(dir, 'ralph.yml');
  const secret = 'sk-ant-' + 'y'.repeat(30);
  writeFileSync(ralph, `hats:\n  builder:\n    triggers: [build.start]\n# ${secret}\n`);
  let derived = 0;
  const derive = (text: string) => ({ hats: ++derived, builder: text.includes('build.start') });
  const entry = () => entries().filter((e) => readFileSync(e, 'utf8').includes(`${ralph}#test`));
  assert.equal(keptByIdentity(ralph, 'test', derive), { hats: 1, builder: true });
  assert.equal(keptByIdentity(ralph, 'test', derive), { hats: 1, builder: true }, 'a file just written is kept too');
  assert.is(entry().length, 1);
  const kept = readFileSync(entry()[0], 'utf8');
  assert.ok(kept.includes('"fingerprint"'), 'a file written in the last two seconds may still change unseen: kept with a fingerprint of its text');
  // The same identity with another text: what a rewrite within one clock tick looks like.
  writeFileSync(entry()[0], kept.replace(/"fingerprint":"[^"]*"/, '"fingerprint":"0:0"'));
  assert.equal(keptByIdentity(ralph, 'test', derive), { hats: 2, builder: true }, 'a text without the kept fingerprint is derived again');
  const later = Date.now() + 3000;
  assert.equal(keptByIdentity(ralph, 'test', derive, later), { hats: 2, builder: true }, 'kept once settled');
  assert.not.ok(readFileSync(entry()[0], 'utf8').includes('"fingerprint"'), 'a settled file is known by its identity alone');
  assert.equal(keptByIdentity(ralph, 'test', derive, later), { hats: 2, builder: true });
  assert.is(derived, 2);
  assert.equal(entries().filter((e) => readFileSync(e, 'utf8').includes(secret)), [], 'the text is not copied');
  writeFileSync(ralph, readFileSync(ralph, 'utf8').replace('build.start', 'build.begin'));
  assert.equal(keptByIdentity(ralph, 'test', derive), { hats: 3, builder: false }, 'a rewrite of the same size is seen');
  assert.equal(keptByIdentity(ralph, 'test', derive), { hats: 3, builder: false });
  rmSync(ralph);
  assert.is(keptByIdentity(ralph, 'test', derive), undefined, 'no file, no value');
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
