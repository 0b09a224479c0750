// The `bm` launcher for Deno: `deno run -A scripts/bm.mjs <command> ...`. Deno starts an ES
// module entry about 3 ms sooner than a CommonJS one (scripts/bm.cjs, which Node starts sooner),
// so under Deno a command named first runs from here; anything else (global flags first, help,
// --version, a typo), and everything under Node, is left to bm.cjs, which knows every command.
//
// @speed-only: Deno could run bm.cjs, as it still can; this entry only starts sooner.
const deno = globalThis.Deno;
const argv = deno ? deno.args : globalThis.process.argv.slice(2);
const script = `${import.meta.dirname}/${argv[0]}.ts`;

// Every scripts/<name>.ts is a command.
const isFile = (file) => { try { return deno.statSync(file).isFile; } catch { return false; } };

if (deno && /^[a-z]+$/.test(argv[0] ?? '') && isFile(script)) {
  // As bm.cjs runs a command under Deno: lib/cli.ts isMain() reads the command's name here.
  globalThis.bmEntryCommand = argv[0];
  globalThis.process.argv = [deno.execPath(), script, ...argv.slice(1)];
  await import(script);
} else {
  const { main } = await import('./bm.cjs');
  await main(argv);
}
