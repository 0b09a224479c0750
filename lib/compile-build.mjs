// The Node fast path of the launcher, in plain JavaScript because it runs before any TypeScript
// loader. tsx's loader runs in a worker thread on Node 20 and roughly triples start-up time, so
// the launcher first looks for the scripts compiled by esbuild (the compiler tsx itself uses) in
// node_modules/.cache/bm, keyed by the mtime and size of every source file that went into them.
// Any edit, a missing cache or a failed build falls back to tsx, which reports errors properly.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const BUILD_KEEP_MS = 60 * 60 * 1000;

/**
 * URL of the compiled module for `scripts/<command>.ts`, building the cache when it is stale.
 * Returns undefined when no compiled module can be had (read-only install, esbuild missing).
 * @param {string} root bm's root directory
 * @param {string} command
 * @returns {Promise<string | undefined>}
 */
export async function compiledCommand(root, command) {
  if (process.env.BM_NO_COMPILE_CACHE) return undefined;
  const cacheDir = process.env.BM_CACHE_DIR || path.join(root, 'node_modules', '.cache', 'bm');
  const manifestFile = path.join(cacheDir, 'current.json');
  let manifest = readManifest(manifestFile);
  if (!manifest || !isFresh(root, manifest, command)) {
    manifest = await build(root, cacheDir, manifestFile);
    if (!manifest || !manifest.entries.includes(command)) return undefined;
  }
  return pathToFileURL(path.join(cacheDir, manifest.build, `${command}.mjs`)).href;
}

function readManifest(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function isFresh(root, manifest, command) {
  if (!manifest.entries.includes(command)) return false;
  if (scriptNames(root).join() !== manifest.entries.join()) return false;
  for (const [file, [mtime, size]] of Object.entries(manifest.inputs)) {
    try {
      const st = statSync(path.join(root, file));
      if (st.mtimeMs !== mtime || st.size !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function scriptNames(root) {
  return readdirSync(path.join(root, 'scripts'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function build(root, cacheDir, manifestFile) {
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    return undefined;
  }
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const entries = scriptNames(root);
  const buildName = `b-${Date.now().toString(36)}-${process.pid}`;
  try {
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entries.map((name) => `scripts/${name}.ts`),
      outdir: path.join(cacheDir, buildName),
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // yaml and zod sit on every command's path: bundled they load in a third of the time.
      // Everything else stays external and is loaded lazily by the code that needs it.
      external: externalPackages(root),
      alias: { yaml: './node_modules/yaml/browser/index.js' },
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = {};
    for (const file of Object.keys(result.metafile.inputs)) {
      if (file.includes('node_modules/')) continue;
      const st = statSync(path.join(root, file));
      inputs[file] = [st.mtimeMs, st.size];
    }
    const manifest = { build: buildName, entries, inputs };
    const temp = `${manifestFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(manifest));
    renameSync(temp, manifestFile);
    pruneOldBuilds(cacheDir, buildName);
    return manifest;
  } catch {
    rmSync(path.join(cacheDir, buildName), { recursive: true, force: true });
    return undefined;
  }
}

const BUNDLED = new Set(['yaml', 'zod']);

function externalPackages(root) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !BUNDLED.has(name));
  return names.flatMap((name) => [name, `${name}/*`]);
}

function pruneOldBuilds(cacheDir, keep) {
  for (const name of readdirSync(cacheDir)) {
    if (!name.startsWith('b-') || name === keep) continue;
    const dir = path.join(cacheDir, name);
    try {
      // Long-running processes (the daemon) may still lazily import chunks of an older build.
      if (Date.now() - statSync(dir).mtimeMs > BUILD_KEEP_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another bm pruned it first.
    }
  }
}

