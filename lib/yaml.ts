/**
 * The yaml package, loaded on first use.
 *
 * Most commands find every file they read in the parse cache (lib/parse-cache.ts) and never
 * parse YAML; loading the package anyway cost them a few milliseconds of start-up under Node.
 * `require` loads it synchronously when a command does parse or write YAML. (The Deno build
 * swaps this file for lib/deno-shims/yaml.mjs.)
 */
import { createRequire } from 'node:module';

let loaded: typeof import('yaml') | undefined;

/** The yaml package. */
export function yaml(): typeof import('yaml') {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return loaded;
}
