// Builds the console's page (web/console/) into dist/console/: app.ts bundled and minified by
// esbuild, index.html and app.css copied. Run by `npm run build` and at install (`prepare`);
// bm never builds it at run time. A build of all of dist/ calls buildConsole() with its own
// fresh directory.
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

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

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = path.join(ROOT, 'dist', 'console');
  // Built beside the target and renamed into place: a console starting meanwhile sees a whole page.
  const staging = `${target}.${process.pid}`;
  try {
    rmSync(staging, { recursive: true, force: true });
    await buildConsole(staging);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    console.error(`Error: the console's page did not build: ${error.message}. Fix the error above and run \`npm run build\` again.`);
    process.exitCode = 1;
  }
}
