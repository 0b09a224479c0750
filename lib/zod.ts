/**
 * zod, loaded and each schema built on first use.
 *
 * Most runs check no file at all: what they read is unchanged since this build checked it (lib/
 * parse-cache.ts). Evaluating zod and building bm's schemas still cost every command about 7% of
 * `node -e 0`, so the command bundles leave zod out: it is bundled on its own
 * (dist/commands/zod-mini.cjs, tasks/build.mjs) and required here when a schema is first used.
 *
 * @speed-only: keeps zod and bm's schemas out of start-up.
 */
import type * as z from 'zod/mini';

/** What schema builders get: the part of zod/mini that lib/zod-mini.ts exports. */
type Zod = typeof import('./zod-mini.ts');

// Set in the bundles (tasks/build.mjs): where the bundled zod is, beside the command bundle.
declare const BM_ZOD_BUNDLE: string | undefined;

let loaded: Zod | undefined;

/** The zod/mini module: the build's bundle of it, or the package (the sources, under Deno). */
function zod(): Zod {
  if (!loaded) {
    const load = process.getBuiltinModule('node:module').createRequire(import.meta.url);
    loaded = load(typeof BM_ZOD_BUNDLE === 'string' ? BM_ZOD_BUNDLE : 'zod/mini') as Zod;
    // zod compiles a parser for each object schema (new Function) the first time it parses with
    // it: that pays off over thousands of parses, and bm parses a handful of files per run.
    loaded.config({ jitless: true });
  }
  return loaded;
}

/** A schema built on first use, from the zod module `build` is given. */
export function schema<T extends z.ZodMiniType>(build: (zod: Zod) => T): () => T {
  let built: T | undefined;
  return () => (built ??= build(zod()));
}

/** The type a lazily built schema accepts. */
export type Infer<S extends () => z.ZodMiniType> = z.infer<ReturnType<S>>;
