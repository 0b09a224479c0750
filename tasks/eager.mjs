/**
 * Marks the functions of a bundle for eager compilation, so that Node's compile cache keeps them.
 *
 * The compile cache (scripts/bm.cjs) holds only the code V8 compiled when it first compiled the
 * file: the top level and the functions it compiles eagerly. Every other function a command runs
 * is compiled from source again at each run, when first called; for `bm status` that is about 180
 * functions, over a third of what it does beyond `node -e 0`. V8 compiles a function eagerly when
 * its text is preceded by a parenthesis (a function expression that looks about to be called), so
 * each top-level function `function f() {}` becomes `var f = (function f() {});`, and each module
 * initializer of esbuild (`init_x = __esm({ "lib/x.ts"() {} })`) becomes a parenthesized function
 * expression. Only these are marked, not the functions nested in them: a command runs most of its
 * top-level functions, and few of the callbacks it does not run are worth a larger cache.
 *
 * A declaration is hoisted and a `var` is not: a function that the top-level code before it may
 * call, directly or through other functions (every name mentioned counts as a call), stays a
 * declaration. The source map is shifted to match. Plain JavaScript, like tasks/build.mjs.
 *
 * It exists only for speed: `bm status` runs about a tenth of `node -e 0` faster with it, and
 * `bm members list` a twentieth (main-thread instructions).
 */
import { Parser } from 'acorn';

/** Every identifier name in `node` and below it. */
function namesIn(node, names = new Set()) {
  if (Array.isArray(node)) {
    for (const child of node) namesIn(child, names);
  } else if (node && typeof node.type === 'string') {
    if (node.type === 'Identifier') names.add(node.name);
    for (const [key, value] of Object.entries(node)) if (key !== 'type' && value && typeof value === 'object') namesIn(value, names);
  }
  return names;
}

/** Whether `node` uses `super` of its own (not of a function or class nested in it). */
function usesSuper(node) {
  if (Array.isArray(node)) return node.some(usesSuper);
  if (!node || typeof node.type !== 'string') return false;
  if (node.type === 'Super') return true;
  if (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' || node.type.startsWith('Class')) return false;
  return Object.entries(node).some(([key, value]) => key !== 'type' && value && typeof value === 'object' && usesSuper(value));
}

/**
 * The object methods `node` creates as it runs, outside any function: esbuild's module
 * initializers (`init_x = __esm({ "lib/x.ts"() {} })`) and a command's `run` among them.
 */
function methods(node, found = []) {
  if (Array.isArray(node)) {
    for (const child of node) methods(child, found);
  } else if (node && typeof node.type === 'string' && !/Function|Class/.test(node.type)) {
    if (node.type === 'Property' && node.method && node.kind === 'init' && !node.computed && !node.value.generator && !usesSuper(node.value.body)) found.push(node);
    for (const [key, value] of Object.entries(node)) if (key !== 'type' && value && typeof value === 'object') methods(value, found);
  }
  return found;
}

/** `__export(namespace, { name: () => name, ... })`: esbuild's getters of a module's namespace object. */
function exportsOf(statement) {
  const call = statement.type === 'ExpressionStatement' ? statement.expression : undefined;
  if (call?.type !== 'CallExpression' || call.callee.type !== 'Identifier' || call.callee.name !== '__export') return undefined;
  const [namespace, getters] = call.arguments;
  return namespace?.type === 'Identifier' && getters?.type === 'ObjectExpression' ? { namespace: namespace.name, getters } : undefined;
}

/**
 * What to put where in `code`: `[from, to, text]` replacements, in order. A top-level function
 * that the code before it may reach is left out.
 */
function edits(code) {
  const program = Parser.parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowReturnOutsideFunction: true, allowHashBang: true });
  // What each top-level function mentions, and what each namespace object's getters do.
  const mentions = new Map();
  for (const statement of program.body) {
    if (statement.type === 'FunctionDeclaration') mentions.set(statement.id.name, namesIn(statement));
    const exported = exportsOf(statement);
    if (exported) mentions.set(exported.namespace, namesIn(exported.getters, mentions.get(exported.namespace)));
  }
  const reached = new Set();
  const reach = (names) => {
    const pending = [...names];
    while (pending.length > 0) {
      const name = pending.pop();
      if (reached.has(name)) continue;
      reached.add(name);
      pending.push(...(mentions.get(name) ?? []));
    }
  };
  const result = [];
  for (const statement of program.body) {
    if (statement.type === 'FunctionDeclaration') {
      if (reached.has(statement.id.name)) continue;
      result.push([statement.start, statement.start, `var ${statement.id.name} = (`], [statement.end, statement.end, ');']);
      continue;
    }
    if (exportsOf(statement)) continue;
    // `key() {}` becomes `key: (function() {})`, `async key() {}` becomes `key: (async function() {})`.
    for (const method of methods(statement)) {
      const key = code.slice(method.key.start, method.key.end);
      result.push([method.start, method.value.start, `${key}: (${method.value.async ? 'async ' : ''}function`], [method.value.end, method.value.end, ')']);
    }
    // What runs is the initial values of a declaration, not the names it declares.
    reach(namesIn(statement.type === 'VariableDeclaration' ? statement.declarations.map((d) => d.init) : statement));
  }
  return result.sort((a, b) => a[0] - b[0]);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The first VLQ number of `segment` and the length of its text. */
function firstVlq(segment) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < segment.length; i++) {
    const digit = BASE64.indexOf(segment[i]);
    value += (digit & 31) << shift;
    shift += 5;
    if ((digit & 32) === 0) return { number: value & 1 ? -(value >>> 1) : value >>> 1, length: i + 1 };
  }
  throw new Error(`bad source map segment '${segment}'`);
}

function vlq(number) {
  let value = number < 0 ? (-number << 1) | 1 : number << 1;
  let text = '';
  do {
    let digit = value & 31;
    value >>>= 5;
    if (value > 0) digit |= 32;
    text += BASE64[digit];
  } while (value > 0);
  return text;
}

/**
 * `mappings` with each generated line's columns moved as `changes` moved them: per line,
 * `[column, removed, inserted]` lengths. A column inside removed text moves to its start.
 */
function shiftMappings(mappings, changes) {
  return mappings.split(';').map((line, index) => {
    const changed = changes.get(index);
    if (!changed || line === '') return line;
    let column = 0;
    let previous = 0;
    return line.split(',').map((segment) => {
      const { number, length } = firstVlq(segment);
      column += number;
      let moved = column;
      for (const [at, removed, inserted] of changed) {
        if (column >= at + removed) moved += inserted - removed;
        else if (column > at) moved -= column - at;
      }
      const text = vlq(moved - previous) + segment.slice(length);
      previous = moved;
      return text;
    }).join(',');
  }).join(';');
}

/** `code` with its top-level functions marked for eager compilation, and its source map to match. */
export function markEager(code, map) {
  const changes = new Map();
  let line = 0;
  let lineStart = 0;
  let out = '';
  let from = 0;
  for (const [start, end, text] of edits(code)) {
    for (let nl = code.indexOf('\n', lineStart); nl !== -1 && nl < start; nl = code.indexOf('\n', lineStart)) {
      line++;
      lineStart = nl + 1;
    }
    if (code.slice(start, end).includes('\n')) throw new Error(`markEager: a change across lines at ${start}`);
    if (!changes.has(line)) changes.set(line, []);
    changes.get(line).push([start - lineStart, end - start, text.length]);
    out += code.slice(from, start) + text;
    from = end;
  }
  out += code.slice(from);
  return { code: out, map: map && { ...map, mappings: shiftMappings(map.mappings, changes) } };
}
