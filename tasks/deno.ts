/**
 * Path of the Deno binary from the `deno` npm package. The package installs its binary lazily,
 * on its first run through `bin.cjs` (its postinstall script is disabled in package.json), so
 * run that once when the binary is not there yet. Spawning the binary directly then skips the
 * ~50 ms Node wrapper, which matters for start-up benchmarks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export function denoBinary(root: string): string {
  const binary = path.join(root, 'node_modules', 'deno', process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (!existsSync(binary)) execFileSync('node', [path.join(root, 'node_modules', 'deno', 'bin.cjs'), '--version'], { stdio: 'ignore' });
  return binary;
}
