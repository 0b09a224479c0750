// Builds the console's page (web/console/) into dist/console/: app.ts bundled and minified by
// esbuild, index.html and app.css copied. Run by `npm run build` and at install (`prepare`);
// bm never builds it at run time.
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const source = path.join(ROOT, 'web', 'console');
const target = path.join(ROOT, 'dist', 'console');
// Built beside the target and renamed into place: a console starting meanwhile sees a whole page.
const staging = `${target}.${process.pid}`;

rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
await build({
  entryPoints: [path.join(source, 'app.ts')],
  outfile: path.join(staging, 'app.js'),
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(path.join(source, file), path.join(staging, file));
rmSync(target, { recursive: true, force: true });
renameSync(staging, target);
