// node:os under Deno: the home and temp directories, answered with Deno's own API.
// Every other export of node:os is loaded lazily (see lib/compile-cache.mjs).
import { real } from './lazy.mjs';

export const homedir = () => Deno.env.get('HOME') || real('os', 'homedir').homedir();

export function tmpdir() {
  const dir = Deno.env.get('TMPDIR') || Deno.env.get('TMP') || Deno.env.get('TEMP') || '/tmp';
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}
