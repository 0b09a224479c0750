/**
 * `npm run build`: bundles every command, scripts/<name>.ts, into dist/commands/<name>.cjs, which
 * the launcher (scripts/bm.cjs) runs under Node, and builds the console's page (dist/console/,
 * tasks/build-web.mjs). npm runs it on install (`prepare`) and before packing; `npm test`,
 * `npm run demo` and `npm run bench` run it first, so they never run stale code. After editing
 * the sources in a checkout, run it again, or keep `npm run build -- --watch` running (commands
 * only). (Deno runs the TypeScript sources and needs no build.)
 *
 * Plain JavaScript, so that it runs on any Node before anything else is set up.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { buildConsole } from './build-web.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
export const DIST = path.join(ROOT, 'dist', 'commands');

// zod is bundled, into a file of its own (lib/zod.ts): one file loads faster than its dozens. Every
// other package stays external, loaded from node_modules by the code that needs it, so an updated
// package is used without a rebuild. That includes yaml (lib/yaml.ts): most runs parse no YAML,
// and bundled, its 260 KB were read and hashed by every command, twice the rest of a bundle.
const BUNDLED = new Set(['zod']);

/**
 * esbuild's options for the bundles: one CommonJS file per scripts/*.ts, found afresh each build.
 * CommonJS, not ES modules: `require` of a CommonJS file skips Node's ES module loader and the ES
 * module view of each built-in module (`import ... from 'node:fs'` builds one, reading every
 * getter of fs, which loads Node's streams), together about a third of a short command's own time.
 * Packages that are ES modules only are still loaded by `require`, which Node 22 supports.
 * @returns {import('esbuild').BuildOptions}
 */
export function options({ watch = false } = {}) {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !BUNDLED.has(name));
  return {
    absWorkingDir: ROOT,
    entryPoints: [
      ...readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => ({ in: `scripts/${f}`, out: f.slice(0, -3) })),
      // zod on its own, which lib/zod.ts loads when a schema is first used: most runs use none.
      { in: 'lib/zod-mini.ts', out: 'zod-mini' },
    ],
    outdir: DIST,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    external: external.flatMap((name) => [name, `${name}/*`]),
    // The sources are ES modules: their import.meta becomes the bundle's own file.
    banner: { js: "var __bmImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    // BM_BUILD names this build: its schemas' verdicts on cached files hold for it alone (lib/parse-cache.ts).
    // A watch rebuilds under one name, so its bundles have none and always check.
    define: { 'import.meta.url': '__bmImportMetaUrl', 'import.meta.dirname': '__dirname', BM_BUILD: watch ? 'undefined' : JSON.stringify(randomUUID()), BM_ZOD_BUNDLE: '"./zod-mini.cjs"' },
    sourcemap: 'linked',
    logLevel: 'warning',
  };
}

/** Builds dist/ from scratch (commands and console page); throws when esbuild reports an error. */
export async function build() {
  const esbuild = await import('esbuild');
  await swapIn(DIST, (fresh) => esbuild.build({ ...options(), outdir: fresh }));
  await swapIn(path.join(ROOT, 'dist', 'console'), buildConsole);
}

/**
 * Has `make` write a directory beside `target`, then swaps it in, so a bm running meanwhile never
 * reads a half-written file.
 */
async function swapIn(target, make) {
  const fresh = `${target}.${process.pid}.new`;
  const old = `${target}.${process.pid}.old`;
  try {
    rmSync(fresh, { recursive: true, force: true });
    await make(fresh);
    if (existsSync(target)) renameSync(target, old);
    renameSync(fresh, target);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/** Rebuilds dist/ whenever a source file changes, until interrupted. */
async function watch() {
  const esbuild = await import('esbuild');
  const context = await esbuild.context({ ...options({ watch: true }), plugins: [{ name: 'report', setup: (b) => b.onEnd((r) => console.error(`build: ${r.errors.length ? 'failed' : 'dist/commands/ is up to date'} (${new Date().toLocaleTimeString()})`)) }] });
  await context.watch();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--watch')) {
    await watch();
  } else {
    try {
      await build();
    } catch (error) {
      console.error(`Error: the build failed: ${error.message}. Fix the error above and run \`npm run build\` again.`);
      process.exitCode = 1;
    }
  }
}
