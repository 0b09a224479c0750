/**
 * lib/simple-yaml.ts, the operator config's fast reader, against the yaml package: on texts
 * `yaml.stringify` writes it must read the same value, and on any other text (mutated, hand-made)
 * it must either read the same value or decline.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { readSimpleYaml } from '../../lib/simple-yaml.ts';

/** A small deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Strings that are easy to misread: numbers, bools and nulls in disguise, indicators, comments.
const STRINGS = ['bench', '68138fd1721adb094fbcce936ed943916fc00a5450696b44cea2ef9bb2df7332', '12e45', '0x1F', '0o17', '.5', '-3', '+1',
  '.inf', '.NaN', 'true', 'True', 'no', 'yes', 'null', '~', '', ' ', 'a b', 'a: b', 'a:b', 'http://localhost:8080/x', '/tmp/work zone/x',
  'a #b', '#x', "it's", 'say "hi"', 'back\\slash', '- item', '? q', '&anchor', '*alias', '!tag', '[a]', '{a}', 'trailing ', 'x:',
  'ghp_abcdEFGH1234', 'café', '日本', 'line\nbreak', '@at', '`tick', '%pct', 'a -b', '1_000', '2026-12-05'];
const KEYS = ['name', 'path', 'profile', 'github_repo', 'credentials', 'webhook_secret', 'gh_token', 'teams', 'default_team', 'workzone', 'true', '1', 'x-y', 'a b', 'k:'];

function value(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.5) {
    const kind = next();
    if (kind < 0.75) return STRINGS[Math.floor(next() * STRINGS.length)];
    if (kind < 0.85) return next() < 0.5;
    if (kind < 0.92) return null;
    return Math.floor(next() * 100);
  }
  if (pick < 0.75) return Array.from({ length: Math.floor(next() * 3) }, () => value(next, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [KEYS[Math.floor(next() * KEYS.length)], value(next, depth + 1)]));
}

/** The yaml package's reading of `text`, or undefined when it refuses it. */
function reference(text: string): { value: unknown } | undefined {
  try {
    return { value: parse(text, { uniqueKeys: true }) };
  } catch {
    return undefined;
  }
}

test('the config bm writes is read by the fast reader, as the yaml package reads it', () => {
  const config = { teams: [{ name: 'bench', path: '/tmp/bt/wz/bench', profile: 'scrum', github_repo: '', credentials: { webhook_secret: '68138fd1721adb094fbcce936ed943916fc00a5450696b44cea2ef9bb2df7332', gh_token: 'ghp_abcdEFGH1234' } }, { name: 'beta', path: '/w/beta', profile: 'rh-scrum', github_repo: 'org/beta', tmux: true }], default_team: 'bench', workzone: '/home/op/.botminter/workspaces' };
  const text = stringify(config, { lineWidth: 0 });
  assert.equal(readSimpleYaml(text), config);
  assert.equal(readSimpleYaml(stringify({ teams: [] })), { teams: [] });
});

test('on generated texts the fast reader agrees with the yaml package or declines', () => {
  const next = random(20261205);
  let read = 0;
  for (let i = 0; i < 3000; i++) {
    const data = { teams: [value(next, 1)], default_team: value(next, 3) };
    const text = stringify(data, { lineWidth: 0 });
    const fast = readSimpleYaml(text);
    if (fast === undefined) continue;
    read++;
    assert.equal(fast, parse(text), `case ${i}:\n${text}`);
  }
  assert.ok(read > 500, `the fast reader declined too often (read ${read} of 3000)`);
});

test('on mutated texts the fast reader agrees with the yaml package or declines', () => {
  const next = random(7);
  const inserts = [' ', '  ', '\n', ':', ': ', '- ', '#', '"', "'", '&a ', '*a', '!', '[', '{', '|', '>', '\t', '---\n', '? ', 'x: y\n', '\n  - z'];
  let agreed = 0;
  for (let i = 0; i < 5000; i++) {
    let text = stringify({ teams: [value(next, 1), value(next, 1)], default_team: 'bench', workzone: '/w' }, { lineWidth: 0 });
    for (let m = 0; m < 1 + Math.floor(next() * 3); m++) {
      const at = Math.floor(next() * (text.length + 1));
      text = next() < 0.3 ? text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 3)) : text.slice(0, at) + inserts[Math.floor(next() * inserts.length)] + text.slice(at);
    }
    const fast = readSimpleYaml(text);
    if (fast === undefined) continue;
    const ref = reference(text);
    assert.ok(ref, `case ${i}: the fast reader read a text the yaml package refuses:\n${text}`);
    assert.equal(fast, ref?.value ?? null, `case ${i}:\n${text}`);
    agreed++;
  }
  assert.ok(agreed > 100, `too few mutated texts were read (${agreed})`);
});

test.run();
