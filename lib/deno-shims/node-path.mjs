// node:path (POSIX) under Deno, written out because loading Deno's node:path costs a few
// milliseconds of start-up. test/unit/deno-shims.test.ts checks it against Node's node:path.
const cwd = () => (globalThis.Deno ? Deno.cwd() : globalThis.process.cwd());

function assertPath(p) {
  if (typeof p !== 'string') throw new TypeError(`The "path" argument must be of type string. Received ${typeof p}`);
}

/** Resolves `.` and `..` segments; `..` past the start is kept only when `aboveRoot`. */
function segments(p, aboveRoot) {
  const out = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') out.push(segment);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (aboveRoot) out.push('..');
  }
  return out;
}

export const sep = '/';
export const delimiter = ':';

export function isAbsolute(p) {
  assertPath(p);
  return p.startsWith('/');
}

export function normalize(p) {
  assertPath(p);
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  let body = segments(p, !absolute).join('/');
  if (body === '' && !absolute) body = '.';
  if (body !== '' && p.endsWith('/')) body += '/';
  return absolute ? `/${body}` : body;
}

export function join(...parts) {
  parts.forEach(assertPath);
  const joined = parts.filter((part) => part !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

export function resolve(...parts) {
  parts.forEach(assertPath);
  let resolved = '';
  for (let i = parts.length - 1; i >= 0 && !resolved.startsWith('/'); i--) {
    if (parts[i] !== '') resolved = resolved === '' ? parts[i] : `${parts[i]}/${resolved}`;
  }
  if (!resolved.startsWith('/')) resolved = resolved === '' ? cwd() : `${cwd()}/${resolved}`;
  return `/${segments(resolved, false).join('/')}`;
}

export function relative(from, to) {
  assertPath(from);
  assertPath(to);
  const a = segments(resolve(from), false);
  const b = segments(resolve(to), false);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => '..'), ...b.slice(common)].join('/');
}

/** `p` without trailing slashes, keeping a lone root. */
function trimTrailing(p) {
  let end = p.length;
  while (end > 1 && p[end - 1] === '/') end--;
  return p.slice(0, end);
}

// Node's exact rules: trailing slashes are ignored, the slash run before the last name is cut at
// its last slash ('/a//b' → '/a/'), and a path that starts '//x' keeps '//' as its directory.
export function dirname(p) {
  assertPath(p);
  if (p === '') return '.';
  let i = p.length - 1;
  while (i >= 1 && p[i] === '/') i--;
  while (i >= 1 && p[i] !== '/') i--;
  if (i < 1) return p.startsWith('/') ? '/' : '.';
  if (i === 1 && p.startsWith('/')) return '//';
  return p.slice(0, i);
}

export function basename(p, suffix) {
  assertPath(p);
  const trimmed = trimTrailing(p);
  if (trimmed === '/') return '';
  const name = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  if (suffix !== undefined && suffix !== name && name.endsWith(suffix)) return name.slice(0, name.length - suffix.length);
  return name;
}

export function extname(p) {
  assertPath(p);
  const name = basename(p);
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name === '..') return '';
  return name.slice(dot);
}

export function toNamespacedPath(p) {
  return p;
}

const path = { sep, delimiter, isAbsolute, normalize, join, resolve, relative, dirname, basename, extname, toNamespacedPath };
path.posix = path;
export const posix = path;
export default path;
