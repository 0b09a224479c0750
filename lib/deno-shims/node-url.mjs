// node:url under Deno: file URL conversions for POSIX paths, without Deno's Node layer.
// Every other export of node:url is loaded lazily (see lib/compile-cache.mjs).
import { resolve } from './node-path.mjs';

export function fileURLToPath(url) {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 'file:') throw new TypeError(`The URL must be of scheme file: ${String(url)}`);
  if (parsed.hostname !== '' && parsed.hostname !== 'localhost') throw new TypeError('File URL host must be "localhost" or empty');
  if (/%2f/i.test(parsed.pathname)) throw new TypeError('File URL path must not include encoded / characters');
  return decodeURIComponent(parsed.pathname);
}

export function pathToFileURL(p) {
  const absolute = resolve(p) + (p.endsWith('/') && p.length > 1 ? '/' : '');
  const encoded = absolute.replace(/%/g, '%25').replace(/\\/g, '%5C').replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/\t/g, '%09').replace(/#/g, '%23').replace(/\?/g, '%3F');
  return new URL(`file://${encoded}`);
}
