/**
 * The object store: one global resourceVersion counter, the objects, a bounded event history for
 * watches, and an optional JSON snapshot on disk so a restarted simulator keeps its state (as a
 * kind node keeps etcd across a container restart).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { managedFields, type FieldState } from './apply.ts';
import { apiVersionOf, RESOURCES } from './resources.ts';
import { clone, type KubeObject } from './util.ts';

/** A stored object plus its field-ownership state. */
export interface StoredRecord {
  plural: string;
  obj: KubeObject;
  fields: FieldState;
}

/** One change, as a watch stream reports it. `prev` is the object before a MODIFIED. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  plural: string;
  rv: number;
  obj: KubeObject;
  prev?: KubeObject;
}

const HISTORY_LIMIT = 5000;

/** Key of an object in the store. */
export function keyFor(plural: string, namespace: string | undefined, name: string): string {
  return `${plural}/${namespace ?? ''}/${name}`;
}

/** In-memory object store with watch history and snapshot persistence. */
export class Store {
  private records = new Map<string, StoredRecord>();
  private history: StoreEvent[] = [];
  private listeners = new Set<(event: StoreEvent) => void>();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private pending: StoreEvent[] = [];
  private dispatching = false;
  /** The newest resourceVersion handed out. */
  rv = 1;
  /** Watches asking for a resourceVersion below this get 410 Expired. */
  oldestRv = 1;

  constructor(private readonly file?: string) {}

  /** Loads the snapshot file; returns false when there is none. */
  load(): boolean {
    if (!this.file || !existsSync(this.file)) return false;
    const data = JSON.parse(readFileSync(this.file, 'utf8')) as { rv: number; records: StoredRecord[] };
    this.rv = data.rv;
    this.oldestRv = data.rv;
    for (const record of data.records) this.records.set(this.keyOf(record.plural, record.obj), record);
    return true;
  }

  private keyOf(plural: string, obj: KubeObject): string {
    return keyFor(plural, obj.metadata.namespace, obj.metadata.name ?? '');
  }

  /** The record for one object, if present. */
  get(plural: string, namespace: string | undefined, name: string): StoredRecord | undefined {
    return this.records.get(keyFor(plural, namespace, name));
  }

  /** All records of a resource, optionally in one namespace, sorted by namespace then name. */
  list(plural: string, namespace?: string): StoredRecord[] {
    const out = [...this.records.values()].filter(
      (r) => r.plural === plural && (namespace === undefined || r.obj.metadata.namespace === namespace),
    );
    return out.sort((a, b) =>
      `${a.obj.metadata.namespace ?? ''}/${a.obj.metadata.name}`.localeCompare(`${b.obj.metadata.namespace ?? ''}/${b.obj.metadata.name}`),
    );
  }

  /** Stores a new or changed object: bumps the resourceVersion and emits ADDED or MODIFIED. */
  put(plural: string, obj: KubeObject, fields: FieldState): KubeObject {
    const key = this.keyOf(plural, obj);
    const previous = this.records.get(key);
    const stored = clone(obj);
    stored.apiVersion = apiVersionOf(RESOURCES[plural]);
    stored.kind = RESOURCES[plural].kind;
    stored.metadata.resourceVersion = String(++this.rv);
    const managed = managedFields(fields);
    if (managed.length) stored.metadata.managedFields = managed;
    else delete stored.metadata.managedFields;
    this.records.set(key, { plural, obj: stored, fields: clone(fields) });
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', plural, rv: this.rv, obj: stored, prev: previous?.obj });
    return clone(stored);
  }

  /** Removes an object and emits DELETED (with a fresh resourceVersion, as etcd does). */
  remove(plural: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyFor(plural, namespace, name);
    const record = this.records.get(key);
    if (!record) return undefined;
    this.records.delete(key);
    const gone = clone(record.obj);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', plural, rv: this.rv, obj: gone, prev: record.obj });
    return gone;
  }

  /** Drops every object (a reset to an empty cluster). */
  clear(): void {
    for (const record of [...this.records.values()]) this.remove(record.plural, record.obj.metadata.namespace, record.obj.metadata.name ?? '');
  }

  /** Events after `rv`, or 'expired' when history no longer reaches back that far. */
  since(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.oldestRv) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  /** Calls `listener` for every future change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.oldestRv = dropped[dropped.length - 1].rv;
    }
    this.scheduleSave();
    // A listener may write while being told about a change; queue so every listener still sees
    // events in resourceVersion order.
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const listener of [...this.listeners]) listener(next);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.save(), 25);
  }

  /** Writes the snapshot now (atomically: temp file, then rename). */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ rv: this.rv, records: [...this.records.values()] }));
    renameSync(tmp, this.file);
  }
}
