// node:process under Deno: what bm's start-up path reads and writes (arguments, environment,
// exit code, stdout and stderr), answered with Deno's own API. Anything else (signals, stdin,
// process.on...) goes to the real `process`, loaded on first use.
import { isLoaded, real } from './lazy.mjs';

const encoder = new TextEncoder();

/**
 * A stdout/stderr whose writes go straight to the file descriptor. Writes are synchronous, so a
 * reader that closed the pipe (`bm ... | head`) shows up here, and bm exits quietly as on Node.
 */
function stream(name) {
  const file = () => Deno[name];
  const native = {
    fd: name === 'stdout' ? 1 : 2,
    write(chunk, encodingOrCallback, callback) {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      try {
        for (let done = 0; done < bytes.length;) done += file().writeSync(bytes.subarray(done));
      } catch (error) {
        if (error instanceof Deno.errors.BrokenPipe) exit();
        throw error;
      }
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (done) queueMicrotask(done);
      return true;
    },
    get isTTY() {
      return file().isTerminal();
    },
    get columns() {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return undefined;
      }
    },
  };
  const events = (method) => (event, ...rest) => {
    // A write error is already handled in write(); other events need the real stream.
    if (event !== 'error') real('process', `${name}.${method}`)[name][method](event, ...rest);
    return proxy;
  };
  const proxy = new Proxy(native, {
    get(target, key) {
      if (key === 'on' || key === 'once' || key === 'addListener') return events(key);
      return key in target ? target[key] : real('process', `${name}.${String(key)}`)[name][key];
    },
  });
  return proxy;
}

const env = new Proxy({}, {
  get: (_, key) => (typeof key === 'string' ? Deno.env.get(key) : undefined),
  set: (_, key, value) => {
    Deno.env.set(key, String(value));
    return true;
  },
  has: (_, key) => typeof key === 'string' && Deno.env.has(key),
  deleteProperty: (_, key) => {
    Deno.env.delete(key);
    return true;
  },
  ownKeys: () => Object.keys(Deno.env.toObject()),
  getOwnPropertyDescriptor: (_, key) => {
    const value = typeof key === 'string' ? Deno.env.get(key) : undefined;
    return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: true };
  },
});

function exit(code) {
  if (isLoaded('process')) return real('process').exit(code);
  if (code !== undefined) Deno.exitCode = code;
  Deno.exit();
}

let argv;
let stdout;
let stderr;
const native = {
  get argv() {
    argv ??= globalThis.bmEntryArgv ?? [Deno.execPath(), decodeURIComponent(new URL(Deno.mainModule).pathname), ...Deno.args];
    return argv;
  },
  set argv(value) {
    argv = value;
  },
  get exitCode() {
    return Deno.exitCode || undefined;
  },
  set exitCode(code) {
    Deno.exitCode = code ?? 0;
  },
  get env() {
    return env;
  },
  get stdout() {
    return (stdout ??= stream('stdout'));
  },
  get stderr() {
    return (stderr ??= stream('stderr'));
  },
  get pid() {
    return Deno.pid;
  },
  get platform() {
    return Deno.build.os === 'windows' ? 'win32' : Deno.build.os;
  },
  get execPath() {
    return Deno.execPath();
  },
  cwd: () => Deno.cwd(),
  exit,
};

export default new Proxy(native, {
  get: (target, key) => (key in target ? target[key] : real('process', key)[key]),
  set: (target, key, value) => {
    if (key in target) target[key] = value;
    else real('process', key)[key] = value;
    return true;
  },
});
