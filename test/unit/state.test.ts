/**
 * lib/state.ts and lib/topology.ts: locked read-modify-write that loses no entry between
 * processes, and files that are torn, mangled or half-written never crash a read.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readState, teamEntries, updateState, type StateEntry } from '../../lib/state.ts';
import { readTopology, updateTopology, writeTopology } from '../../lib/topology.ts';
import { interceptOutput } from '../support/output.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-state-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (member: string, pid = 4242): StateEntry => ({ team: 'alpha', member, project: null, pid, started: '1@abc', started_at: '2026-01-01T00:00:00.000Z', workspace: `/w/${member}` });

/** Silences the warnings corrupt files are expected to produce. */
function quietly<T>(fn: () => T): T {
  const restore = interceptOutput(() => {});
  try {
    return fn();
  } finally {
    restore();
  }
}

test('two processes adding 100 entries each lose none', async () => {
  const file = path.join(dir, 'concurrent.json');
  const stateModule = path.resolve(import.meta.dirname, '../../lib/state.ts');
  const worker = (name: string) => `
    const { updateState } = await import(${JSON.stringify(stateModule)});
    for (let i = 0; i < 100; i++) {
      updateState((s) => { s.members['alpha/${name}-' + i] = { team: 'alpha', member: '${name}-' + i, project: null, pid: i + 1, started: 'x', started_at: '', workspace: '/w' }; }, ${JSON.stringify(file)});
    }
  `;
  await Promise.all(['a', 'b'].map((name) => new Promise<void>((resolve, reject) => {
    // The same worker under whichever runtime runs this test, as code evaluated in the checkout:
    // Deno resolves npm packages (zod) through the package.json above the main module, and a
    // script file in the temp dir has none.
    const args = 'Deno' in globalThis ? ['eval', worker(name)] : ['--import', 'tsx', '--input-type=module', '-e', worker(name)];
    const child = spawn(process.execPath, args, { cwd: path.resolve(import.meta.dirname, '../..'), stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${name} exited ${code}`))));
  })));
  assert.is(Object.keys(readState(file).members).length, 200);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('concurrent.json.')), [], 'no temp or lock files left');
});

test('a torn state file reads as empty, is kept aside, and the next update repairs it', () => {
  const file = path.join(dir, 'torn.json');
  writeFileSync(file, '{"members": {"alpha/dev-al');
  assert.equal(quietly(() => readState(file)), { members: {} });
  quietly(() => updateState((s) => {
    s.members['alpha/dev-alice'] = entry('dev-alice');
  }, file));
  assert.equal(Object.keys(readState(file).members), ['alpha/dev-alice']);
  assert.is(readFileSync(`${file}.corrupt`, 'utf8'), '{"members": {"alpha/dev-al');
});

test('malformed entries are dropped, good ones kept; other shapes read as empty', () => {
  const file = path.join(dir, 'mixed.json');
  writeFileSync(file, JSON.stringify({ members: { 'alpha/dev-alice': entry('dev-alice'), 'alpha/bad': { pid: 'nope' } } }));
  assert.equal(Object.keys(quietly(() => readState(file)).members), ['alpha/dev-alice']);
  for (const text of ['null', '[]', '"x"', '{"members": 3}', '{}']) {
    writeFileSync(file, text);
    assert.equal(quietly(() => readState(file)), { members: {} }, text);
  }
});

test('entries without team or member fields (botminter format) are read by their key', () => {
  const file = path.join(dir, 'legacy.json');
  writeFileSync(file, JSON.stringify({ members: { 'alpha/dev-alice': { pid: 12, started_at: '2026-01-01T00:00:00Z', workspace: '/w' } } }));
  const entries = teamEntries(readState(file), 'alpha');
  assert.equal([...entries.keys()], ['dev-alice']);
  assert.equal([entries.get('dev-alice')?.member, entries.get('dev-alice')?.started], ['dev-alice', '']);
  assert.equal([...teamEntries(readState(file), 'alp').keys()], [], 'team prefixes do not leak');
});

test('temp files of dead writers are cleaned on the next update', () => {
  const file = path.join(dir, 'temps.json');
  const stale = `${file}.999999999.abc.tmp`;
  const live = `${file}.${process.pid}.def.tmp`;
  writeFileSync(stale, '{');
  writeFileSync(live, '{');
  updateState((s) => {
    s.members['alpha/x'] = entry('x');
  }, file);
  assert.not.ok(existsSync(stale));
  assert.ok(existsSync(live), 'a live writer keeps its temp file');
  rmSync(live);
});

test('topology: missing, ok, corrupt; private writes; update can remove', () => {
  const file = path.join(dir, 'topology.json');
  assert.equal(readTopology(file), { kind: 'missing' });
  const topology = { formation: 'local', created_at: '2026-01-01T00:00:00Z', members: { 'dev-alice': { status: 'running', endpoint: { type: 'local' as const, pid: 7, started: '1@abc', workspace: '/w' } } } };
  writeTopology(file, topology);
  assert.is(statSync(file).mode & 0o777, 0o600);
  const read = readTopology(file);
  assert.is(read.kind, 'ok');
  assert.equal(read.kind === 'ok' ? read.topology : undefined, topology);

  writeFileSync(file, '{"formation": "local", "members": {');
  const torn = readTopology(file);
  assert.is(torn.kind, 'corrupt');
  assert.match(torn.kind === 'corrupt' ? torn.reason : '', /not valid JSON/);
  writeFileSync(file, JSON.stringify({ formation: 'local', created_at: 'x', members: { a: { endpoint: { type: 'ftp' } } } }));
  assert.is(readTopology(file).kind, 'corrupt', 'an unknown endpoint type is not trusted');

  updateTopology(file, (current) => {
    assert.is(current, undefined, 'a corrupt topology is handed over as undefined');
    return topology;
  });
  assert.is(readTopology(file).kind, 'ok');
  updateTopology(file, () => undefined);
  assert.is(readTopology(file).kind, 'ok', 'undefined leaves the file alone');
  updateTopology(file, () => null);
  assert.not.ok(existsSync(file));
});

test.run();
