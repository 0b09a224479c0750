/**
 * The yaml package, loaded on first use.
 *
 * Most commands find every file they read in the parse cache (lib/parse-cache.ts) and never
 * parse YAML; compiling the package anyway cost them a few milliseconds of start-up under Node,
 * which has no code cache for ES modules. `require` loads it synchronously when a command does
 * parse or write YAML.
 */
import { createRequire } from 'node:module';

let loaded: typeof import('yaml') | undefined;

/** The yaml package. */
export function yaml(): typeof import('yaml') {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return loaded;
}
