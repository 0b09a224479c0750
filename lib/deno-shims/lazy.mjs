// Lazy access to Node built-ins under Deno, for the Deno build of the compile cache
// (lib/compile-cache.mjs). Loading Deno's Node compatibility layer (node:fs, the `process`
// global...) costs more start-up time than all of bm's own work, so the shims in this folder
// answer the calls on bm's start-up path with Deno's own APIs and load the real module only
// when a command needs something else.
const loaded = new Map();

/** The real `node:<name>` module, loaded on first use (for `key`, which BM_DEBUG reports). */
export function real(name, key) {
  let mod = loaded.get(name);
  if (!mod) {
    if (Deno.env.get('BM_DEBUG')) console.error(`bm debug: loading Deno's node:${name}${key ? ` for ${String(key)}` : ''}`);
    mod = globalThis.process.getBuiltinModule(`node:${name}`);
    loaded.set(name, mod);
  }
  return mod;
}

/** True once the real `node:<name>` has been loaded. */
export function isLoaded(name) {
  return loaded.has(name);
}

/** A stand-in for the export `key` of `node:<name>`: a function, class or object used later. */
export function lazy(name, key) {
  return new Proxy(function () {}, {
    apply: (_, self, args) => Reflect.apply(real(name, key)[key], self, args),
    construct: (_, args) => Reflect.construct(real(name, key)[key], args),
    get: (_, prop) => real(name, key)[key][prop],
    has: (_, prop) => prop in real(name, key)[key],
  });
}

/** A default export: `overrides` first, then the real module. */
export function moduleObject(name, overrides) {
  return new Proxy(overrides, {
    get: (target, key) => (key in target ? target[key] : real(name, key)[key]),
    set: (target, key, value) => {
      if (key in target) target[key] = value;
      else real(name, key)[key] = value;
      return true;
    },
  });
}
