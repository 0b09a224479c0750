/**
 * Small JSON helpers shared by the kube-sim modules. Objects travel as plain JSON, so these
 * narrow `unknown` values without casting everywhere.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** A JSON-ish object. */
export type Obj = Record<string, unknown>;

/** A stored Kubernetes object: always has metadata. */
export interface KubeObject extends Obj {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
}

/** The ObjectMeta fields the simulator reads and writes. */
export interface Meta extends Obj {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  managedFields?: Obj[];
}

/** True for a plain JSON object (not an array, not null). */
export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value if it is a plain object, else undefined. */
export function asObj(value: unknown): Obj | undefined {
  return isObj(value) ? value : undefined;
}

/** The value if it is an array, else an empty array. */
export function asArr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The value if it is a string, else undefined. */
export function asStr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value if it is a finite number, else undefined. */
export function asNum(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A deep copy through JSON (objects here are always JSON). */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Structural equality of two JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 3339 with whole seconds, the way the API server writes timestamps. */
export function timestamp(ms = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A random UID in UUID form. */
export function uid(): string {
  return randomUUID();
}

/** Random lowercase hex, e.g. for container IDs. */
export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** The 5-character suffix the API server appends for `generateName`. */
export function nameSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
