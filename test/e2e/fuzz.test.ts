/**
 * Fuzz-style: random mutations of real files (botminter.yml, formation.yml, topology.json,
 * state.json, config.yml) and of real webhook bodies. Thousands go through bm's readers in this
 * process (the only error that may escape is a BmError, which bm prints without a stack); a
 * sample goes through the CLI, which must exit 0, 1 or 2, print no stack trace and write
 * nothing outside the team dir and BM_HOME. The seed is printed on failure to replay a case.
 */
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, resolveTeam, teamsOf } from '../../lib/config.ts';
import { createWebhookServer, listen } from '../../lib/daemon/server.ts';
import { signBody } from '../../lib/daemon/signature.ts';
import { BmError } from '../../lib/output.ts';
import { formationSchema, readYaml } from '../../lib/schema.ts';
import { readState } from '../../lib/state.ts';
import { listMembers, loadTeam, projectsOf } from '../../lib/team.ts';
import { readTopology } from '../../lib/topology.ts';
import { expectedWorkspaces } from '../../lib/workspaces.ts';
import { example } from '../support/daemon.ts';
import { interceptOutput } from '../support/output.ts';
import { createSandbox } from '../support/sandbox.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SEED = Number(process.env.BM_FUZZ_SEED ?? Date.now() % 1_000_000);
const CASES = Number(process.env.BM_FUZZ_CASES ?? 500);

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = [':', '-', '- ', '[', ']', '{', '}', '&a', '*a', '!!', '\n', '  ', '"', "'", '%YAML 1.1\n', '\0', '../', '..', '/', 'é', '\u2028', '\u001b[2J', '~', 'null', '[]', '{}', '9'.repeat(400), '-rf', '$(id)', '\t', '#', '<<: *a', '__proto__'];

function mutate(text: string, random: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const len = Math.floor(random() * 40);
    switch (Math.floor(random() * 5)) {
      case 0: out = out.slice(0, at) + out.slice(at + len); break;
      case 1: out = out.slice(0, at) + HOSTILE[Math.floor(random() * HOSTILE.length)] + out.slice(at); break;
      case 2: out = out.slice(0, at) + out.slice(at, at + len).repeat(1 + Math.floor(random() * 3)) + out.slice(at); break;
      case 3: out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x2100)) + out.slice(at + 1); break;
      default: out = out.slice(0, at); break;
    }
  }
  return out;
}

/** Runs `fn` with bm's warnings silenced; anything but a BmError escaping it fails the case. */
function quietly(what: string, seed: number, input: string, fn: () => void): void {
  const restore = interceptOutput(() => {});
  try {
    fn();
  } catch (error) {
    if (!(error instanceof BmError)) {
      restore();
      assert.unreachable(`${what} (seed ${seed}) threw ${(error as Error).stack}\ninput: ${JSON.stringify(input.slice(0, 500))}`);
    }
  } finally {
    restore();
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-fuzz-'));
// Set only while this file's tests run: other test files share this process and its environment.
const previousEnv = { BM_HOME: process.env.BM_HOME, BM_NO_PARSE_CACHE: process.env.BM_NO_PARSE_CACHE };
test.before(() => {
  process.env.BM_HOME = path.join(dir, 'home');
  process.env.BM_NO_PARSE_CACHE = '1';
});
test.after(() => {
  for (const [name, value] of Object.entries(previousEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

test(`the readers of team repo, formation, topology, state and config files (${CASES} mutations each, seed ${SEED})`, () => {
  const random = rng(SEED);
  const teamDir = path.join(dir, 'team-dir');
  const repo = path.join(teamDir, 'team');
  mkdirSync(path.join(repo, 'members', 'dev-alice'), { recursive: true });
  writeFileSync(path.join(repo, 'members', 'dev-alice', 'botminter.yml'), 'role: dev\nname: alice\n');
  const manifest = `${readFileSync(path.join(ROOT, 'profiles', 'scrum', 'botminter.yml'), 'utf8')}\nprojects:\n  - name: widget\n    fork_url: https://github.com/acme/widget.git\n`;
  const formation = readFileSync(path.join(ROOT, 'formations', 'k8s', 'formation.yml'), 'utf8');
  const topology = JSON.stringify({ formation: 'local', created_at: '2026-01-01T00:00:00Z', members: { 'dev-alice': { status: 'running', endpoint: { type: 'local', pid: 1, started: '1@b', workspace: '/w' } }, 'qe-q': { endpoint: { type: 'k8s', context: 'kind', namespace: 'ns', pod: 'p-0', container: 'c' } } } }, null, 2);
  const state = JSON.stringify({ members: { 'alpha/dev-alice': { team: 'alpha', member: 'dev-alice', project: null, pid: 1, started: '1@b', started_at: '2026-01-01T00:00:00Z', workspace: '/w' } } }, null, 2);
  const config = `workzone: ${dir}\ndefault_team: alpha\nteams:\n  - name: alpha\n    path: ${teamDir}\n    profile: scrum\n    credentials:\n      gh_token: ghp_x\n      webhook_secret: s\n`;
  const file = (name: string) => path.join(dir, name);
  for (let i = 0; i < CASES; i++) {
    const seed = SEED + i;
    const m = mutate(manifest, random);
    writeFileSync(path.join(repo, 'botminter.yml'), m);
    quietly('botminter.yml', seed, m, () => {
      const team = loadTeam({ name: 'alpha', path: teamDir, profile: 'scrum' });
      for (const p of projectsOf(team)) assert.ok(/^[a-z0-9-]+$/.test(p.name), `project name ${JSON.stringify(p.name)} got through`);
      listMembers(team);
      for (const ws of expectedWorkspaces(team)) assert.ok(ws.path.startsWith(`${teamDir}/`), `workspace ${ws.path} is outside the team dir`);
    });
    const f = mutate(formation, random);
    writeFileSync(file('formation.yml'), f);
    quietly('formation.yml', seed, f, () => void readYaml(file('formation.yml'), formationSchema));
    const t = mutate(topology, random);
    writeFileSync(file('topology.json'), t);
    quietly('topology.json', seed, t, () => {
      const read = readTopology(file('topology.json'));
      if (read.kind === 'ok') for (const key of Object.keys(read.topology.members)) assert.ok(/^[a-z0-9-]+(\/[a-z0-9-]+)?$/.test(key), `topology key ${JSON.stringify(key)} got through`);
    });
    const s = mutate(state, random);
    writeFileSync(file('state.json'), s);
    quietly('state.json', seed, s, () => {
      for (const entry of Object.values(readState(file('state.json')).members)) assert.ok(/^[a-z0-9-]+$/.test(entry.member), `member ${JSON.stringify(entry.member)} got through`);
    });
    const c = mutate(config, random);
    writeFileSync(file('config.yml'), c, { mode: 0o600 });
    quietly('config.yml', seed, c, () => {
      const loaded = loadConfig(file('config.yml'));
      teamsOf(loaded);
      resolveTeam(loaded);
    });
  }
});

test(`mutated webhook bodies, signed and unsigned, never crash the server (seed ${SEED})`, async () => {
  const random = rng(SEED + 1);
  const secret = 'fuzz-secret';
  let deliveries = 0;
  const server = createWebhookServer({ secret, onDelivery: () => (deliveries++, 'ignored'), onRejected: () => undefined, health: () => ({}) });
  const port = await listen(server, 0, '127.0.0.1');
  const bodies = [JSON.stringify(example('issues', 'opened')), JSON.stringify(example('issue_comment', 'created')), JSON.stringify(example('ping'))];
  try {
    for (let i = 0; i < Math.min(CASES, 400); i++) {
      const body = mutate(bodies[i % bodies.length], random);
      const signed = random() < 0.7;
      const form = random() < 0.2;
      const raw = form ? `payload=${encodeURIComponent(body)}` : body;
      const response = await fetch(`http://127.0.0.1:${port}/webhook`, {
        method: 'POST',
        body: raw,
        headers: {
          'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
          'x-github-event': random() < 0.9 ? 'issues' : mutate('issues', random).replace(/[^\x21-\x7e]/g, ''),
          'x-github-delivery': `fuzz-${i}`,
          ...(signed ? { 'x-hub-signature-256': signBody(secret, raw) } : { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }),
        },
      }).catch((error: Error) => ({ status: -1, text: async () => error.message }));
      assert.ok([200, 202, 400, 401, 413, 415, 503].includes(response.status), `case ${i} (seed ${SEED}): status ${response.status} ${await response.text()}`);
    }
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.is(health.status, 200, 'the server still answers');
    assert.ok(deliveries > 0, 'some mutations were still valid deliveries');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Every path under `root` except the given subtrees. */
function tree(root: string, skip: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (skip.some((s) => full === s || full.startsWith(`${s}/`))) continue;
      found.push(full);
      if (lstatSync(full).isDirectory()) walk(full);
    }
  };
  walk(root);
  return found.sort();
}

test(`the CLI on mutated files: exit 0/1/2, no stack trace, nothing written outside the team dir and BM_HOME (seed ${SEED})`, async () => {
  const random = rng(SEED + 2);
  const sandbox = createSandbox();
  try {
    await sandbox.ok(['init', '--non-interactive', '--team-name', 'alpha', '--profile', 'scrum', '--workzone', sandbox.workzone, '--no-github', '--hire', 'dev:alice']);
    const teamDir = path.join(sandbox.workzone, 'alpha');
    const files = {
      manifest: path.join(teamDir, 'team', 'botminter.yml'),
      topology: path.join(teamDir, 'topology.json'),
      state: path.join(sandbox.bmHome, 'state.json'),
      config: path.join(sandbox.bmHome, 'config.yml'),
    };
    writeFileSync(files.topology, JSON.stringify({ formation: 'local', created_at: '2026-01-01T00:00:00Z', members: { 'dev-alice': { endpoint: { type: 'local', pid: 999999999, started: '1@b', workspace: path.join(teamDir, 'dev-alice') } } } }));
    writeFileSync(files.state, JSON.stringify({ members: { 'alpha/dev-alice': { pid: 999999999, started: '1@b', workspace: path.join(teamDir, 'dev-alice') } } }));
    const originals = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f, 'utf8')]));
    cpSync(teamDir, path.join(sandbox.dir, 'pristine'), { recursive: true });
    // bm's parse cache (XDG cache dir) is its own, too.
    const outside = () => tree(sandbox.dir, [teamDir, sandbox.bmHome, path.join(sandbox.home, '.cache', 'bm'), path.join(sandbox.dir, 'pristine')]);
    const before = outside();
    const commands = [['status'], ['members', 'list'], ['teams', 'sync', '--dry-run'], ['stop'], ['projects', 'list', '--json'], ['knowledge', 'list']];
    for (let i = 0; i < 12; i++) {
      const [key, target] = Object.entries(files)[i % 4];
      writeFileSync(target, mutate(originals[key], random), { mode: 0o600 });
      const args = commands[i % commands.length];
      const result = await sandbox.bm(args);
      const where = `bm ${args.join(' ')} with a mutated ${key} (seed ${SEED}, case ${i})`;
      assert.ok([0, 1, 2].includes(result.code ?? -1), `${where}: exit ${result.code}\n${result.stderr}`);
      assert.not.match(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${where}: a stack trace\n${result.stderr}`);
      writeFileSync(target, originals[key], { mode: 0o600 });
    }
    assert.equal(outside(), before, 'nothing was written outside the team dir and BM_HOME');
  } finally {
    sandbox.cleanup();
  }
});

test.run();
