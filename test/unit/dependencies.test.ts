/**
 * package.json's dependencies match what bm imports at run time: every package that lib/,
 * scripts/ or the formations import is declared in `dependencies` (a production install has
 * nothing else), and every one declared there is imported somewhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../support/sandbox.ts';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(full);
    return /\.(ts|mjs)$/.test(entry.name) ? [full] : [];
  });
}

/** The packages a file imports: `from 'x'`, `import('x')`, `require('x')`, type-only imports left out. */
function packagesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const [, kind, spec] of text.matchAll(/(?:^|\n)\s*(import type|import|export)[^'"\n]*?from\s+'([^']+)'|(?:import|require)\(\s*'([^']+)'\s*\)/g)) {
    if (kind === 'import type') continue;
    if (spec) found.push(spec);
  }
  for (const [, spec] of text.matchAll(/(?:import\(|require\(|createRequire\([^)]*\)\()\s*'([^']+)'\s*\)/g)) found.push(spec);
  return found.filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

const runtimeFiles = ['lib', 'scripts', 'formations'].flatMap((d) => sources(path.join(ROOT, d)));
const imported = new Map<string, string>();
for (const file of runtimeFiles) for (const name of packagesOf(file)) if (!imported.has(name)) imported.set(name, path.relative(ROOT, file));

test('every package imported at run time is a declared dependency', () => {
  for (const [name, file] of imported) assert.ok(name in pkg.dependencies, `${file} imports '${name}', which is not in dependencies${name in pkg.devDependencies ? ' (only in devDependencies: a production install lacks it)' : ''}`);
});

test('every declared dependency is imported at run time', () => {
  for (const name of Object.keys(pkg.dependencies)) assert.ok(imported.has(name), `'${name}' is in dependencies but nothing in lib/, scripts/ or formations/ imports it`);
});

test.run();
