// A Node preload that records every module a process imports, one resolved URL per line, in the
// file named by BM_IMPORT_LOG: `NODE_OPTIONS="--import <this file>"`. The k8s tests use it to
// check that status and a repeated start never load zx (no hat script runs).
//
// The same file is both the preload (on the main thread it registers itself) and the module
// resolution hooks (which Node runs on a thread of their own). bm's Node build is CommonJS and
// loads packages with require(), which those hooks do not see, so on the main thread it also
// wraps CommonJS resolution.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.BM_IMPORT_LOG) {
  const file = process.env.BM_IMPORT_LOG;
  register(import.meta.url, { data: file });
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function logged(...args) {
    const resolved = resolveFilename.apply(this, args);
    if (resolved.startsWith('/')) appendFileSync(file, `${pathToFileURL(resolved).href}\n`);
    return resolved;
  };
}

let log;

/** Receives the log file from `register`. */
export function initialize(file) {
  log = file;
}

/** Logs each module as it is resolved, then lets Node carry on. */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
