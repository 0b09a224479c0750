// node:fs under Deno: the read calls on bm's start-up path, answered with Deno's own API.
// Every other export of node:fs is loaded lazily (see lib/compile-cache.mjs).
import { real } from './lazy.mjs';

function stats(info) {
  return {
    size: info.size,
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    ino: info.ino,
    dev: info.dev,
    nlink: info.nlink,
    mtime: info.mtime,
    mtimeMs: info.mtime?.getTime() ?? 0,
    atimeMs: info.atime?.getTime() ?? 0,
    ctimeMs: info.ctime?.getTime() ?? 0,
    birthtimeMs: info.birthtime?.getTime() ?? 0,
    isFile: () => info.isFile,
    isDirectory: () => info.isDirectory,
    isSymbolicLink: () => info.isSymlink,
  };
}

function statWith(statFn, p, options) {
  if (options?.bigint) return real('fs', 'stat with bigint')[statFn === Deno.statSync ? 'statSync' : 'lstatSync'](p, options);
  try {
    return stats(statFn(p));
  } catch (error) {
    if (options?.throwIfNoEntry === false && error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

export function existsSync(p) {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

export const statSync = (p, options) => statWith(Deno.statSync, p, options);
export const lstatSync = (p, options) => statWith(Deno.lstatSync, p, options);

export function readFileSync(p, options) {
  const encoding = typeof options === 'string' ? options : options?.encoding;
  if ((encoding === 'utf8' || encoding === 'utf-8') && typeof p !== 'number') return Deno.readTextFileSync(p);
  return real('fs', 'readFileSync to a Buffer').readFileSync(p, options);
}

// Node lists a directory sorted (libuv's scandir); Deno in directory order.
export function readdirSync(p, options) {
  if (typeof options === 'object' && (options?.recursive || (options?.encoding && options.encoding !== 'utf8'))) return real('fs', 'readdirSync options').readdirSync(p, options);
  const entries = [...Deno.readDirSync(p)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (typeof options === 'object' && options?.withFileTypes) {
    return entries.map((e) => ({ name: e.name, parentPath: p, isFile: () => e.isFile, isDirectory: () => e.isDirectory, isSymbolicLink: () => e.isSymlink }));
  }
  return entries.map((e) => e.name);
}

export const realpathSync = (p) => Deno.realPathSync(p);
export const readlinkSync = (p) => Deno.readLinkSync(p);

// The parse cache (lib/parse-cache.ts) writes with these on a miss; other forms go to node:fs.
export function mkdirSync(p, options) {
  if (typeof options !== 'object' || options === null || options.mode !== undefined) return real('fs', 'mkdirSync').mkdirSync(p, options);
  try {
    Deno.mkdirSync(p, { recursive: Boolean(options.recursive) });
  } catch (error) {
    if (!(options.recursive && error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return undefined;
}

export function writeFileSync(p, data, options) {
  const simple = options === undefined || (typeof options === 'object' && Object.keys(options).every((key) => key === 'mode'));
  if (!simple || typeof data !== 'string' || typeof p !== 'string') return real('fs', 'writeFileSync').writeFileSync(p, data, options);
  Deno.writeTextFileSync(p, data, options?.mode === undefined ? {} : { mode: options.mode });
}

export const renameSync = (from, to) => Deno.renameSync(from, to);
