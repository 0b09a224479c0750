// The launcher's fast path, in plain JavaScript because it runs before any TypeScript loader.
//
// Commands run from scripts compiled by esbuild into node_modules/.cache/bm, one build per
// runtime: under Node, tsx's loader thread would roughly triple start-up, so each command is one
// CommonJS file run with V8's code cache (runCompiled); under Deno, the build swaps Node
// built-ins for the shims in lib/deno-shims, because Deno's Node layer costs more start-up than
// bm's own work. A build is used only while every source file that went into it
// has the mtime and size recorded in its manifest; otherwise it is rebuilt
// (lib/compile-build.mjs), and if that fails the launcher falls back to the TypeScript sources.
//
// This file checks freshness without node:fs or node:path so that, under Deno, a fresh build
// runs without loading the Node layer at all.
const deno = globalThis.Deno;
// getBuiltinModule, unlike import('node:fs'), builds no ES module namespace for the built-in.
const nodeFs = deno ? undefined : globalThis.process.getBuiltinModule('node:fs');

/** The runtime-specific parts of the cache: manifest name and build directory prefix. */
export const RUNTIME = deno ? { name: 'deno', manifest: 'current-deno.json', prefix: 'd-' } : { name: 'node', manifest: 'current.json', prefix: 'b-' };

/** Modification time (whole milliseconds, as both runtimes report it) and size of a file. */
export function stamp(file) {
  const info = deno ? deno.statSync(file) : nodeFs.statSync(file);
  return [Math.floor(deno ? info.mtime.getTime() : info.mtimeMs), info.size];
}

/** The command names: one per `scripts/<name>.ts`. */
export function scriptNames(root) {
  const names = deno ? [...deno.readDirSync(`${root}/scripts`)].map((e) => e.name) : nodeFs.readdirSync(`${root}/scripts`);
  return names.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3)).sort();
}

/**
 * An environment variable, read without touching the `process` global under Deno.
 * @param {string} name
 * @returns {string | undefined}
 */
export function envVar(name) {
  return deno ? deno.env.get(name) : globalThis.process.env[name];
}

/** The cache directory (BM_CACHE_DIR overrides it for tests). */
export function cacheDir(root) {
  return envVar('BM_CACHE_DIR') || `${root}/node_modules/.cache/bm`;
}

function readManifest(file) {
  try {
    return JSON.parse(deno ? deno.readTextFileSync(file) : nodeFs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function isFresh(root, manifest, command) {
  if (!manifest.entries.includes(command)) return false;
  if (scriptNames(root).join() !== manifest.entries.join()) return false;
  for (const [file, [mtime, size]] of Object.entries(manifest.inputs)) {
    try {
      const [actualMtime, actualSize] = stamp(`${root}/${file}`);
      if (actualMtime !== mtime || actualSize !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Path of the compiled file for `scripts/<command>.ts`, rebuilding the cache when it is stale.
 * Returns undefined when no compiled file can be had (BM_NO_COMPILE_CACHE, read-only install,
 * esbuild missing, a build error): the caller then runs the TypeScript source.
 * @param {string} root bm's root directory
 * @param {string} command
 * @returns {Promise<string | undefined>}
 */
export async function compiledCommand(root, command) {
  if (envVar('BM_NO_COMPILE_CACHE')) return undefined;
  const dir = cacheDir(root);
  let manifest = readManifest(`${dir}/${RUNTIME.manifest}`);
  if (!manifest || !isFresh(root, manifest, command)) {
    const { build } = await import('./compile-build.mjs');
    manifest = await build(root, dir);
    if (!manifest || !manifest.entries.includes(command)) return undefined;
  }
  return `${dir}/${manifest.build}/${command}.${deno ? 'mjs' : 'cjs'}`;
}

/**
 * Runs a file from `compiledCommand`. Deno imports the ES module. Node compiles the CommonJS
 * file as a script with V8's code cache kept beside it (`<file>.v8`, written after the first run
 * and again whenever V8 refuses it, e.g. after a Node upgrade), which skips most compiling.
 * @param {string} file
 */
export async function runCompiled(file) {
  if (deno) return import(fileUrl(file));
  const process = globalThis.process;
  const vm = process.getBuiltinModule('node:vm');
  const { createRequire } = process.getBuiltinModule('node:module');
  const codeCache = `${file}.v8`;
  let cachedData;
  try {
    cachedData = nodeFs.readFileSync(codeCache);
  } catch {
    // First run of this build.
  }
  // The same wrapper Node puts around a CommonJS module, on the first line so positions hold.
  const source = `(function (exports, require, module, __filename, __dirname) {${nodeFs.readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(source, { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    // At exit the cache also holds the functions this run compiled lazily.
    process.once('exit', () => {
      try {
        const temp = `${codeCache}.${process.pid}.tmp`;
        nodeFs.writeFileSync(temp, script.createCachedData());
        nodeFs.renameSync(temp, codeCache);
      } catch {
        // A read-only install runs without the code cache.
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, file.slice(0, file.lastIndexOf('/')));
}

/** The file: URL of an absolute POSIX path. */
export function fileUrl(file) {
  return new URL(`file://${file.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\?/g, '%3F')}`).href;
}
