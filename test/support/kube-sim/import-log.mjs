// A Node preload that records every module a process imports, one resolved URL per line, in the
// file named by BM_IMPORT_LOG: `NODE_OPTIONS="--import <this file>"`. The k8s tests use it to
// check that the fast read path never loads @kubernetes/client-node or zx.
//
// The same file is both the preload (on the main thread it registers itself) and the module
// resolution hooks (which Node runs on a thread of their own).
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.BM_IMPORT_LOG) register(import.meta.url, { data: process.env.BM_IMPORT_LOG });

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
