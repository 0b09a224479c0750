/**
 * Field ownership and server-side apply, simplified: every leaf field remembers which manager last
 * set it. Apply conflicts when another manager owns a leaf with a different value, removes the
 * fields its manager dropped since its previous apply, and merges the rest with strategic-merge
 * rules. `managedFields` is rendered from the ownership table.
 */
import { mergeKeyOf, strategicMerge } from './patch.ts';
import { ApiError } from './status.ts';
import { asArr, asObj, clone, deepEqual, isObj, timestamp, type KubeObject, type Obj } from './util.ts';

/** Who set a leaf field, how, and when. */
export interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  time: string;
}

/** Ownership state kept beside each stored object. */
export interface FieldState {
  /** Leaf path (JSON array of segments) → owner. */
  owners: Record<string, Owner>;
  /** The last configuration each apply manager sent. */
  applied: Record<string, Obj>;
}

/** A path segment: a map key, or a keyed list item `{key: value}`. */
type Segment = string | { key: string; value: unknown };

interface Leaf {
  path: Segment[];
  value: unknown;
}

const TRACKED_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/** The part of an object whose fields can be owned: no status, no server-set metadata. */
function ownable(obj: Obj): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      const meta = asObj(value) ?? {};
      const kept: Obj = {};
      for (const field of TRACKED_METADATA) if (meta[field] !== undefined) kept[field] = meta[field];
      if (Object.keys(kept).length) out.metadata = kept;
      continue;
    }
    out[key] = value;
  }
  return out;
}

function collectLeaves(value: unknown, path: Segment[], kind: string, out: Leaf[]): void {
  if (isObj(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('$') || child === undefined) continue;
      const mergeKey = mergeKeyOf(key, kind);
      if (mergeKey && Array.isArray(child) && child.every(isObj)) {
        for (const item of child) collectLeaves(item, [...path, key, { key: mergeKey, value: asObj(item)?.[mergeKey] }], kind, out);
      } else {
        collectLeaves(child, [...path, key], kind, out);
      }
    }
    return;
  }
  if (path.length > 0) out.push({ path, value });
}

/** Every leaf field of the ownable part of `obj`. */
function leavesOf(obj: Obj, kind: string): Leaf[] {
  const out: Leaf[] = [];
  collectLeaves(ownable(obj), [], kind, out);
  return out;
}

const keyOf = (path: Segment[]): string => JSON.stringify(path);

function step(current: unknown, segment: Segment): unknown {
  if (typeof segment === 'string') return asObj(current)?.[segment];
  return asArr(current).find((item) => isObj(item) && deepEqual(item[segment.key], segment.value));
}

function valueAt(obj: unknown, path: Segment[]): unknown {
  return path.reduce<unknown>((current, segment) => step(current, segment), obj);
}

/**
 * Removes the leaf at `path` under `node`, pruning what the removal leaves empty (and keyed list
 * items that lost their key). Returns true when `node` itself is now empty.
 */
function removeLeaf(node: unknown, path: Segment[]): boolean {
  const [segment, ...rest] = path;
  if (typeof segment === 'string') {
    const map = asObj(node);
    if (!map || !(segment in map)) return false;
    if (rest.length === 0 || removeLeaf(map[segment], rest)) delete map[segment];
    return Object.keys(map).length === 0;
  }
  if (!Array.isArray(node)) return false;
  const index = node.findIndex((item) => isObj(item) && deepEqual(item[segment.key], segment.value));
  if (index < 0) return false;
  const item = asObj(node[index]) ?? {};
  if (rest.length === 0 || removeLeaf(item, rest) || !(segment.key in item)) node.splice(index, 1);
  return node.length === 0;
}

function describePath(path: Segment[]): string {
  return path.map((s) => (typeof s === 'string' ? `.${s}` : `[${s.key}=${JSON.stringify(s.value)}]`)).join('');
}

/** Records ownership after a non-apply write (create, update, patch) by `manager`. */
export function recordUpdate(state: FieldState, before: Obj | undefined, after: Obj, manager: string, kind: string, now = timestamp()): void {
  const oldLeaves = new Map((before ? leavesOf(before, kind) : []).map((l) => [keyOf(l.path), l.value]));
  const newLeaves = leavesOf(after, kind);
  const present = new Set<string>();
  for (const leaf of newLeaves) {
    const key = keyOf(leaf.path);
    present.add(key);
    if (!oldLeaves.has(key) || !deepEqual(oldLeaves.get(key), leaf.value) || !state.owners[key]) {
      state.owners[key] = { manager, operation: 'Update', time: now };
    }
  }
  for (const key of Object.keys(state.owners)) if (!present.has(key)) delete state.owners[key];
}

/** Server-side apply of `config` by `manager` onto `current` (undefined when creating). */
export function serverSideApply(
  state: FieldState,
  current: KubeObject | undefined,
  config: Obj,
  manager: string,
  force: boolean,
  kind: string,
  plural: string,
): KubeObject {
  const base: Obj = current ? clone(current) : {};
  const leaves = leavesOf(config, kind);
  const conflicts = new Map<string, { owner: Owner; paths: string[] }>();
  for (const leaf of leaves) {
    const owner = state.owners[keyOf(leaf.path)];
    if (!owner || owner.manager === manager || deepEqual(valueAt(base, leaf.path), leaf.value)) continue;
    const id = `${owner.manager}\u0000${owner.operation}`;
    const entry = conflicts.get(id) ?? { owner, paths: [] };
    entry.paths.push(describePath(leaf.path));
    conflicts.set(id, entry);
  }
  if (conflicts.size > 0 && !force) throw conflictError(conflicts, plural, current?.metadata.name ?? '');
  const wanted = new Set(leaves.map((l) => keyOf(l.path)));
  const previous = state.applied[manager];
  if (previous) {
    for (const leaf of leavesOf(previous, kind)) {
      const key = keyOf(leaf.path);
      if (wanted.has(key) || state.owners[key]?.manager !== manager) continue;
      removeLeaf(base, leaf.path);
      delete state.owners[key];
    }
  }
  const now = timestamp();
  const merged = strategicMerge(base, ownable(config), kind) as KubeObject;
  for (const leaf of leaves) state.owners[keyOf(leaf.path)] = { manager, operation: 'Apply', time: now };
  state.applied[manager] = clone(ownable(config));
  return merged;
}

function conflictError(conflicts: Map<string, { owner: Owner; paths: string[] }>, plural: string, name: string): ApiError {
  const lines: string[] = [];
  const causes: Obj[] = [];
  let total = 0;
  for (const { owner, paths } of conflicts.values()) {
    const who = `"${owner.manager}"${owner.operation === 'Update' ? ' using v1' : ''}`;
    total += paths.length;
    lines.push(paths.length === 1 ? `conflict with ${who}: ${paths[0]}` : `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join('\n')}`);
    for (const field of paths) causes.push({ reason: 'FieldManagerConflict', message: `conflict with ${who}`, field });
  }
  const message = `Apply failed with ${total} conflict${total === 1 ? '' : 's'}: ${lines.join('\n')}`;
  return new ApiError(409, 'Conflict', message, { name, kind: plural, causes });
}

/** Renders the ownership table as `metadata.managedFields`. */
export function managedFields(state: FieldState): Obj[] {
  const groups = new Map<string, { owner: Owner; tree: Obj }>();
  for (const [key, owner] of Object.entries(state.owners)) {
    const id = `${owner.manager}\u0000${owner.operation}`;
    const group = groups.get(id) ?? { owner: { ...owner }, tree: {} };
    if (owner.time > group.owner.time) group.owner.time = owner.time;
    let node = group.tree;
    for (const segment of JSON.parse(key) as Segment[]) {
      const name = typeof segment === 'string' ? `f:${segment}` : `k:${JSON.stringify({ [segment.key]: segment.value })}`;
      const next = asObj(node[name]) ?? (typeof segment === 'string' ? {} : { '.': {} });
      node[name] = next;
      node = next;
    }
    groups.set(id, group);
  }
  return [...groups.values()].map(({ owner, tree }) => ({
    manager: owner.manager,
    operation: owner.operation,
    apiVersion: 'v1',
    time: owner.time,
    fieldsType: 'FieldsV1',
    fieldsV1: tree,
  }));
}
