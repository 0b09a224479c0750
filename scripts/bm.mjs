// The `bm` launcher for Deno: `deno run -A scripts/bm.mjs <command> ...`. Deno starts an ES
// module entry about 3 ms sooner than a CommonJS one (scripts/bm.cjs, which Node starts sooner),
// so under Deno a command named first runs from here; anything else (global flags first, help,
// --version, a typo), and everything under Node, is left to bm.cjs, which knows every command.
const deno = globalThis.Deno;
const argv = deno ? deno.args : globalThis.process.argv.slice(2);

/** The script of `name` when it names a command (every scripts/<name>.ts is one). */
function commandScript(name) {
  if (!/^[a-z]+$/.test(name ?? '')) return undefined;
  const script = `${import.meta.dirname}/${name}.ts`;
  try {
    return deno.statSync(script).isFile ? script : undefined;
  } catch {
    return undefined;
  }
}

const script = deno && commandScript(argv[0]);
if (script) {
  // As bm.cjs runs a command under Deno: lib/cli.ts isMain() reads the command's name here.
  globalThis.bmEntryCommand = argv[0];
  globalThis.process.argv = [deno.execPath(), script, ...argv.slice(1)];
  await import(script);
} else {
  const { main } = await import('./bm.cjs');
  await main(argv);
}
