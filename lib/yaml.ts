/**
 * The yaml package, loaded on first use.
 *
 * Most runs parse no YAML at all: team files come from the parse cache (lib/parse-cache.ts) and
 * the operator config from its fast reader (lib/simple-yaml.ts). So the Node bundles leave yaml
 * out (tasks/build.mjs) and the few commands that parse or write YAML load it here.
 */
type Yaml = typeof import('yaml');

let loaded: Yaml | undefined;

/** The yaml package. */
export function yaml(): Yaml {
  loaded ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('yaml') as Yaml;
  return loaded;
}
