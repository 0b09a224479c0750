/**
 * The three classic PATCH flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the
 * part of Kubernetes strategic merge patch that kubectl's client-side apply sends.
 */
import { ApiError } from './status.ts';
import { asArr, asObj, clone, deepEqual, isObj, type Obj } from './util.ts';

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const result: Obj = isObj(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchFailed(`JSON patch path "${path}" must start with /`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Returns the container holding the last pointer token, creating nothing. */
function parentOf(doc: unknown, tokens: string[]): { parent: unknown; last: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    current = Array.isArray(current) ? current[Number(token)] : asObj(current)?.[token];
    if (current === undefined) throw patchFailed(`jsonpatch: missing path /${tokens.join('/')}`);
  }
  return { parent: current, last: tokens[tokens.length - 1] };
}

function getAt(doc: unknown, tokens: string[]): unknown {
  let current = doc;
  for (const token of tokens) current = Array.isArray(current) ? current[Number(token)] : asObj(current)?.[token];
  return current;
}

function removeAt(doc: unknown, tokens: string[]): unknown {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length)) throw patchFailed(`jsonpatch remove: index out of range: /${tokens.join('/')}`);
    return parent.splice(i, 1)[0];
  }
  const obj = asObj(parent);
  if (!obj || !(last in obj)) throw patchFailed(`jsonpatch remove operation does not apply: doc is missing key: /${tokens.join('/')}`);
  const value = obj[last];
  delete obj[last];
  return value;
}

function addAt(doc: unknown, tokens: string[], value: unknown, replace: boolean): unknown {
  if (tokens.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length)) throw patchFailed(`jsonpatch: index out of range: /${tokens.join('/')}`);
    if (replace) parent[i] = clone(value);
    else parent.splice(i, 0, clone(value));
  } else {
    const obj = asObj(parent);
    if (!obj) throw patchFailed(`jsonpatch: missing path /${tokens.join('/')}`);
    if (replace && !(last in obj)) throw patchFailed(`jsonpatch replace operation does not apply: doc is missing key: /${tokens.join('/')}`);
    obj[last] = clone(value);
  }
  return doc;
}

/** RFC 6902 operations applied in order to a copy of `target`. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of ops) {
    const op = asObj(raw) ?? {};
    const tokens = pointer(String(op.path ?? ''));
    switch (op.op) {
      case 'add':
        doc = addAt(doc, tokens, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, tokens, op.value, true);
        break;
      case 'remove':
        removeAt(doc, tokens);
        break;
      case 'move': {
        const value = removeAt(doc, pointer(String(op.from ?? '')));
        doc = addAt(doc, tokens, value, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, tokens, getAt(doc, pointer(String(op.from ?? ''))), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, tokens), op.value)) throw patchFailed(`testing value /${tokens.join('/')} failed: test failed`);
        break;
      default:
        throw patchFailed(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

const KEYED_LISTS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  resourceClaims: 'name',
  schedulingGates: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  readinessGates: 'conditionType',
  topologySpreadConstraints: 'topologyKey',
};

/** The merge key of a list field, or undefined when the list is replaced whole. */
export function mergeKeyOf(field: string, kind: string): string | undefined {
  if (field === 'ports') return kind === 'Service' ? 'port' : 'containerPort';
  return KEYED_LISTS[field];
}

/** Lists of primitives that strategic merge treats as sets. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !(isObj(v) && v.$patch !== undefined && Object.keys(v).length === 1)).map(stripDirectives);
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$') && v !== null) out[k] = stripDirectives(v);
  return out;
}

function reorder(items: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const identity = (item: unknown): unknown => (key && isObj(item) ? item[key] : item);
  const wanted = order.map(identity);
  const rank = (item: unknown): number => {
    const i = wanted.findIndex((w) => deepEqual(w, identity(item)));
    return i < 0 ? wanted.length : i;
  };
  return items.map((item, i) => ({ item, i })).sort((a, b) => rank(a.item) - rank(b.item) || a.i - b.i).map((e) => e.item);
}

function mergeKeyedList(original: unknown[], patch: unknown[], key: string, kind: string): unknown[] {
  if (patch.some((p) => isObj(p) && p.$patch === 'replace')) return asArr(stripDirectives(patch));
  const result = clone(original);
  for (const item of patch) {
    if (!isObj(item)) continue;
    const index = result.findIndex((r) => isObj(r) && deepEqual(r[key], item[key]));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], item, kind);
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}

/** Strategic merge patch: maps merge, keyed lists merge by key, other lists are replaced. */
export function strategicMerge(original: unknown, patch: unknown, kind: string): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: Obj = isObj(original) ? clone(original) : {};
  const orders: [string, unknown[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/')) {
      orders.push([key.slice('$setElementOrder/'.length), asArr(value)]);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      result[field] = asArr(result[field]).filter((v) => !asArr(value).some((d) => deepEqual(d, v)));
      continue;
    }
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
    } else if (isObj(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = strategicMerge(result[key], value, kind);
    } else if (Array.isArray(value)) {
      const mergeKey = mergeKeyOf(key, kind);
      if (mergeKey) result[key] = mergeKeyedList(asArr(result[key]), value, mergeKey, kind);
      else if (MERGED_PRIMITIVE_LISTS.has(key)) result[key] = [...new Set([...asArr(result[key]), ...value])];
      else result[key] = stripDirectives(value);
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    if (Array.isArray(result[field])) result[field] = reorder(asArr(result[field]), order, mergeKeyOf(field, kind));
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}
