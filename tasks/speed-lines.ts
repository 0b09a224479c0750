/**
 * Counts the production lines (lib/, scripts/, formations/) that exist only for speed, so the
 * bench can report them. Such code is marked where it lives:
 *
 *   `@speed-only: <why>` in a file's leading comment   the whole file counts
 *   `// @speed-only-begin: <why>` ... `// @speed-only-end`   the lines in between count
 *
 * Counted are lines of code: blank lines and comment-only lines are left out.
 *
 *   node --import tsx tasks/speed-lines.ts      prints the list and the total
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');

/** One piece of speed-only code. */
export interface SpeedOnly {
  file: string;
  why: string;
  lines: number;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(full);
    return /\.(ts|mjs|cjs)$/.test(entry.name) ? [full] : [];
  });
}

function isCode(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('//') && !t.startsWith('/*') && !t.startsWith('*');
}

/** Every marked piece of speed-only code under lib/, scripts/ and formations/. */
export function speedOnly(root = ROOT): SpeedOnly[] {
  const found: SpeedOnly[] = [];
  for (const file of ['lib', 'scripts', 'formations'].flatMap((d) => sources(path.join(root, d)))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    const rel = path.relative(root, file);
    const whole = lines.slice(0, 30).find((l) => /@speed-only:/.test(l));
    if (whole) {
      found.push({ file: rel, why: whole.replace(/.*@speed-only:\s*/, ''), lines: lines.filter(isCode).length });
      continue;
    }
    let open: { why: string; count: number } | undefined;
    for (const line of lines) {
      if (/@speed-only-begin:/.test(line)) open = { why: line.replace(/.*@speed-only-begin:\s*/, ''), count: 0 };
      else if (/@speed-only-end/.test(line) && open) {
        found.push({ file: rel, why: open.why, lines: open.count });
        open = undefined;
      } else if (open && isCode(line)) open.count++;
    }
  }
  return found;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pieces = speedOnly();
  for (const p of pieces) console.log(`${String(p.lines).padStart(5)}  ${p.file}: ${p.why}`);
  console.log(`${String(pieces.reduce((n, p) => n + p.lines, 0)).padStart(5)}  in total (target: under 300)`);
}
