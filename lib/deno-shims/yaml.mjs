// lib/yaml.ts for the Deno build: there, the yaml package is bundled and imported up front.
// Deno keeps a code cache, so compiling it costs next to nothing, while loading it lazily with
// require (as lib/yaml.ts does for Node) would load Deno's Node layer on every parse.
import * as yamlPackage from 'yaml';

export const yaml = () => yamlPackage;
