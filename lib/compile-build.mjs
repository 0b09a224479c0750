// Builds the compile cache that lib/compile-cache.mjs checks: every scripts/*.ts bundled by
// esbuild (the compiler tsx itself uses) into one directory per build, with a manifest of the
// mtime and size of each source file that went in. Loaded only when the cache is stale.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { RUNTIME, scriptNames, stamp } from './compile-cache.mjs';

// Long-running processes (the daemon) may still lazily import chunks of an older build.
const BUILD_KEEP_MS = 60 * 60 * 1000;

// zod sits on every command's path, yaml on many: bundled they load in a third of the time. (In
// the Node build yaml stays out all the same: lib/yaml.ts requires it only when a command
// parses YAML.) Everything else stays external and is loaded lazily by the code that needs it.
const BUNDLED = new Set(['yaml', 'zod']);

// Deno: ES modules split into shared chunks, Node built-ins swapped for the shims.
const DENO_BUILD = { format: 'esm', splitting: true, target: 'esnext', outExtension: { '.js': '.mjs' } };

/**
 * Node: one self-contained CommonJS file per command, because Node 20 can cache V8's compiled
 * code only for scripts, not for ES modules, and compiling the bundle was a third of a
 * command's own start-up (lib/compile-cache.mjs runs it with the cache). Dynamic imports become
 * require() calls: packages that are ES modules load through Node's require(esm). import.meta
 * gets the values the ES build had: this file's URL and directory.
 */
function nodeBuild() {
  return {
    format: 'cjs',
    splitting: false,
    target: 'node20',
    outExtension: { '.js': '.cjs' },
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__bmModuleUrl', 'import.meta.dirname': '__dirname' },
    banner: { js: 'const __bmModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  };
}

/**
 * Builds the cache for the running runtime and makes it current.
 * @param {string} root bm's root directory
 * @param {string} cacheDir
 * @returns {Promise<{build: string, entries: string[], inputs: Record<string, [number, number]>} | undefined>}
 */
export async function build(root, cacheDir) {
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
  const buildName = `${RUNTIME.prefix}${Date.now().toString(36)}-${process.pid}`;
  try {
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entries.map((name) => `scripts/${name}.ts`),
      outdir: path.join(cacheDir, buildName),
      bundle: true,
      platform: 'node',
      external: externalPackages(root),
      alias: { yaml: './node_modules/yaml/browser/index.js' },
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      ...(RUNTIME.name === 'deno' ? { ...DENO_BUILD, plugins: [denoShims(root)] } : nodeBuild()),
    });
    // The builder is an input too: a change to how the cache is built must rebuild it.
    const inputs = { 'lib/compile-build.mjs': stamp(path.join(root, 'lib', 'compile-build.mjs')) };
    for (const file of Object.keys(result.metafile.inputs)) {
      if (file.includes('node_modules/') || file.includes(':')) continue;
      inputs[file] = stamp(path.join(root, file));
    }
    const manifest = { build: buildName, entries, inputs };
    const manifestFile = path.join(cacheDir, RUNTIME.manifest);
    const temp = `${manifestFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(manifest));
    renameSync(temp, manifestFile);
    pruneOldBuilds(cacheDir);
    return manifest;
  } catch {
    rmSync(path.join(cacheDir, buildName), { recursive: true, force: true });
    return undefined;
  }
}

function externalPackages(root) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !BUNDLED.has(name));
  return names.flatMap((name) => [name, `${name}/*`]);
}

// The built-ins bm's start-up path uses; lib/deno-shims has a node-<name>.mjs for each.
const SHIMMED = new Set(['fs', 'os', 'path', 'process', 'url']);

/**
 * For the Deno build: every `node:*` import becomes a generated module that exports the shim's
 * native functions (lib/deno-shims/node-<name>.mjs) where there is one, constants by value, and
 * a lazy stand-in for everything else, so Deno's Node layer loads only if a command uses it.
 * lib/yaml.ts, which requires the yaml package lazily for Node, becomes lib/deno-shims/yaml.mjs.
 */
function denoShims(root) {
  const shimDir = path.join(root, 'lib', 'deno-shims');
  return {
    name: 'deno-shims',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path.slice('node:'.length), namespace: 'deno-node' }));
      b.onResolve({ filter: /\/yaml\.ts$/ }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        return target === path.join(root, 'lib', 'yaml.ts') ? { path: path.join(shimDir, 'yaml.mjs') } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'deno-node' }, async (args) => {
        const name = args.path;
        const real = await import(`node:${name}`);
        const shimFile = path.join(shimDir, `node-${name}.mjs`);
        const shim = SHIMMED.has(name) ? await import(shimFile) : {};
        const lines = [`import { lazy, moduleObject } from ${JSON.stringify(path.join(shimDir, 'lazy.mjs'))};`];
        if (SHIMMED.has(name)) lines.push(`import * as shim from ${JSON.stringify(shimFile)};`);
        const names = new Set([...Object.keys(real), ...Object.keys(shim)]);
        for (const key of names) {
          if (key === 'default' || !/^[A-Za-z_$][\w$]*$/.test(key)) continue;
          if (key in shim) lines.push(`export const ${key} = shim.${key};`);
          else if (typeof real[key] === 'object' || typeof real[key] === 'function') lines.push(`export const ${key} = /* @__PURE__ */ lazy(${JSON.stringify(name)}, ${JSON.stringify(key)});`);
          // Constants such as os.EOL keep their value; process.pid and the like are left out.
          else if (name !== 'process') lines.push(`export const ${key} = ${JSON.stringify(real[key])};`);
        }
        const natives = Object.keys(shim).filter((key) => key !== 'default').map((key) => `${key}: shim.${key}`);
        lines.push('default' in shim ? 'export default shim.default;' : `export default /* @__PURE__ */ moduleObject(${JSON.stringify(name)}, { ${natives.join(', ')} });`);
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

function pruneOldBuilds(cacheDir) {
  const current = new Set();
  for (const manifest of ['current.json', 'current-deno.json']) {
    try {
      current.add(JSON.parse(readFileSync(path.join(cacheDir, manifest), 'utf8')).build);
    } catch {
      // No build for that runtime yet.
    }
  }
  for (const name of readdirSync(cacheDir)) {
    if (!/^[bd]-/.test(name) || current.has(name)) continue;
    const dir = path.join(cacheDir, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > BUILD_KEEP_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another bm pruned it first.
    }
  }
}
