/**
 * The yaml package, evaluated on first use.
 *
 * Most runs parse no YAML at all: team files come from the parse cache (lib/parse-cache.ts) and
 * the operator config from its fast reader (lib/simple-yaml.ts). In the Node bundles `require`
 * is the bundle's own, so esbuild bundles yaml and evaluates it here, when it is first needed;
 * run from the sources (Deno, tests), the package is required from node_modules.
 */
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');

let loaded: Yaml | undefined;

/** The yaml package. */
export function yaml(): Yaml {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= typeof require === 'function' ? require('yaml') as Yaml : createRequire(import.meta.url)('yaml') as Yaml;
  return loaded;
}
