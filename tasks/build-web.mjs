// Builds the console's page (web/console/): app.ts bundled and minified by esbuild, index.html
// and app.css copied. `npm run build` (tasks/build.mjs, also run at install) calls buildConsole()
// with a fresh directory that becomes dist/console/; bm never builds it at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCE = path.join(ROOT, 'web', 'console');

/** Writes the page into `target` (created if missing): app.js, app.css, index.html. */
export async function buildConsole(target) {
  const { build } = await import('esbuild');
  mkdirSync(target, { recursive: true });
  await build({
    entryPoints: [path.join(SOURCE, 'app.ts')],
    outfile: path.join(target, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'app.css']) copyFileSync(path.join(SOURCE, file), path.join(target, file));
}
