/**
 * Reading a clone's refs straight from its `.git` directory.
 *
 * A re-sync with nothing to do must be cheap: comparing shas read from files costs microseconds
 * where one git process per workspace and question costs tens of milliseconds. Anything unusual
 * (a `.git` file, a ref we cannot find) returns undefined and the caller falls back to git.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { readAgentFile } from '../files.ts';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The `.git` directory of a work tree, or undefined when `.git` is not a plain directory (a
 * symlink there could lead bm's writes out of the workspace).
 */
export function gitDirOf(workTree: string): string | undefined {
  const dir = path.join(workTree, '.git');
  try {
    return lstatSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Refs are written by git and by whoever works in the clone: read them as untrusted, bounded. */
function readText(file: string): string | undefined {
  try {
    return readAgentFile(file, 64 * 1024 * 1024);
  } catch {
    return undefined;
  }
}

/** The sha a full ref name (`refs/heads/main`) points at: the loose ref file, else packed-refs. */
export function readRef(gitDir: string, ref: string): string | undefined {
  const loose = readText(path.join(gitDir, ref))?.trim();
  if (loose && SHA.test(loose)) return loose;
  const packed = readText(path.join(gitDir, 'packed-refs'));
  if (!packed) return undefined;
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && SHA.test(sha)) return sha;
  }
  return undefined;
}

/** Where HEAD is: the branch it is on (null when detached) and its sha (undefined when unborn). */
export function readHead(gitDir: string): { branch: string | null; sha: string | undefined } | undefined {
  const head = readText(path.join(gitDir, 'HEAD'))?.trim();
  if (!head) return undefined;
  if (SHA.test(head)) return { branch: null, sha: head };
  const match = /^ref: (refs\/heads\/.+)$/.exec(head);
  if (!match) return undefined;
  return { branch: match[1].slice('refs/heads/'.length), sha: readRef(gitDir, match[1]) };
}

/** One value from `.git/config` (`section` as written in its header, e.g. `remote "origin"`). */
export function readConfigValue(gitDir: string, section: string, key: string): string | undefined {
  const config = readText(path.join(gitDir, 'config'));
  if (!config) return undefined;
  let inSection = false;
  let value: string | undefined;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inSection = line === `[${section}]`;
      continue;
    }
    const kv = inSection ? /^([\w-]+)\s*=\s*(.*)$/.exec(line) : null;
    if (kv?.[1].toLowerCase() === key.toLowerCase()) value = kv[2];
  }
  return value;
}

/**
 * The upstream of `branch` as a remote-tracking ref (`refs/remotes/origin/main`); undefined when
 * it has none or the config is more than this simple reader knows.
 */
export function readUpstream(gitDir: string, branch: string): string | undefined {
  const remote = readConfigValue(gitDir, `branch "${branch}"`, 'remote');
  const merge = readConfigValue(gitDir, `branch "${branch}"`, 'merge');
  if (!remote || remote === '.' || !merge?.startsWith('refs/heads/')) return undefined;
  return `refs/remotes/${remote}/${merge.slice('refs/heads/'.length)}`;
}
