// Helpers shared by the stub `ralph` and `claude` executables (see README.md).
// Plain ESM with builtins only: the stubs must start fast.
import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isatty } from 'node:tty';

const RECORDED_ENV = /^(GH_TOKEN|GITHUB_TOKEN|GH_CONFIG_DIR|CLAUDECODE|BM_.*|RALPH_.*|HOME)$/;

/**
 * Appends one JSON line describing this invocation to $BM_STUB_LOG, else ./.stub-calls.jsonl.
 * A single append write keeps lines whole when several stubs log to one file.
 */
export function record(bin, extra = {}) {
  const env = {};
  for (const key of Object.keys(process.env).sort()) {
    if (RECORDED_ENV.test(key)) env[key] = process.env[key];
  }
  const entry = {
    bin,
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    pid: process.pid,
    ppid: process.ppid,
    ts: new Date().toISOString(),
    stdinIsTTY: isatty(0),
    env,
    ...extra,
  };
  const file = process.env.BM_STUB_LOG ? resolve(process.env.BM_STUB_LOG) : resolve('.stub-calls.jsonl');
  try {
    appendFileSync(file, JSON.stringify(entry) + '\n');
  } catch (err) {
    // A missing log shows up in the test's assertions; the stub itself keeps going like the real program.
    process.stderr.write(`stub ${bin}: cannot append to ${file}: ${err.message}\n`);
  }
}

/** Reads a non-negative integer knob from the environment. */
export function msKnob(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/**
 * True when `pid` names a running process (EPERM still means it exists). A zombie, dead but not
 * yet reaped by its parent, still answers kill(0); real ralph treats it as gone, and so do we.
 */
export function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // No /proc (macOS): kill(0) is all we have.
  }
}

/** Writes to stderr and exits with `code`. */
export function die(code, message) {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
}
