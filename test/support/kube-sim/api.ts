/**
 * The Kubernetes API routes: discovery, OpenAPI, and get/list/watch/create/update/patch/delete
 * of the core/v1 resources and apps/v1 StatefulSets, with the validation, defaulting, admission
 * (ServiceAccount, Pod Security) and error shapes of a real server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { recordUpdate, serverSideApply, type FieldState } from './apply.ts';
import { apiGroup, apiGroupList, apiVersions, GROUPS, openapiDocument, openapiIndex, resourceList, versionInfo } from './discovery.ts';
import type { Lifecycle } from './lifecycle.ts';
import { jsonPatch, mergePatch, strategicMerge } from './patch.ts';
import { decodeProtobuf } from './protobuf.ts';
import { enforcedLevel, restrictedViolations, violationMessage } from './pod-security.ts';
import { apiVersionOf, applyCreateDefaults, foldStringData, RESOURCES, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import {
  alreadyExists, ApiError, badRequest, conflict, deleted, forbidden, invalid, methodNotAllowed, notFound, noSuchResource, unsupportedPatch,
} from './status.ts';
import type { Store, StoreEvent, StoredRecord } from './store.ts';
import { toTable, wantsTable } from './tables.ts';
import { asNum, asObj, asStr, clone, deepEqual, isObj, nameSuffix, timestamp, uid, type KubeObject, type Obj } from './util.ts';
import { checkImmutableData, checkPodUpdate, checkStatefulSetUpdate, decodeProblem, pruneUnknownFields, unknownFields, validateObject } from './validation.ts';

/** A parsed request: method, URL, headers and the raw body. */
export interface ApiRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** Namespaces a real cluster refuses to delete. */
const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

/** Resources whose `status` is only written through the status subresource. */
const STATUS_SUBRESOURCE = new Set(['pods', 'namespaces', 'services', 'nodes', 'statefulsets']);

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** Strips `kind`/`apiVersion`, as real list responses do for their items. */
function listItem(obj: KubeObject): Obj {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

/** The field manager named in the query, else the User-Agent's product name (as the API server does). */
function managerOf(req: ApiRequest): string {
  return req.url.searchParams.get('fieldManager') || (String(req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown');
}

function isDryRun(req: ApiRequest): boolean {
  return req.url.searchParams.getAll('dryRun').includes('All');
}

function contentType(req: ApiRequest): string {
  return String(req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
}

/** Decodes a JSON, YAML or protobuf request body. */
function decodeBody(req: ApiRequest, def: ResourceDef): unknown {
  const type = contentType(req);
  if (type === 'application/vnd.kubernetes.protobuf') return decodeProtobuf(req.body);
  const text = req.body.toString('utf8');
  if (!text.trim()) throw badRequest('the body of the request was empty');
  try {
    return type.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(`${def.kind} in version "v1" cannot be handled as a ${def.kind}: ${(error as Error).message}`);
  }
}

function toObject(value: unknown, def: ResourceDef): KubeObject {
  if (!isObj(value)) throw badRequest(`${def.kind} in version "v1" cannot be handled as a ${def.kind}: expected an object`);
  if (value.kind !== undefined && value.kind !== def.kind) {
    throw badRequest(`${String(value.kind)} in version "v1" cannot be handled as a ${def.kind}: the kind of the object does not match the URL`);
  }
  const obj = clone(value) as KubeObject;
  obj.metadata = asObj(obj.metadata) ?? {};
  return obj;
}

/** Applies `fieldValidation`: Strict rejects unknown fields, Warn (the default) sends warnings. */
function checkFields(req: ApiRequest, def: ResourceDef, body: unknown, warnings: string[]): void {
  const mode = req.url.searchParams.get('fieldValidation') ?? 'Warn';
  const unknown = unknownFields(def.kind, body);
  if (unknown.length === 0) return;
  if (mode === 'Strict') {
    const list = unknown.map((f) => `unknown field "${f}"`).join(', ');
    throw badRequest(`${def.kind} in version "v1" cannot be handled as a ${def.kind}: strict decoding error: ${list}`);
  }
  if (mode !== 'Ignore') warnings.push(...unknown.map((f) => `unknown field "${f}"`));
  pruneUnknownFields(def.kind, body);
}

function warningHeaders(warnings: string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

/** Carries system metadata (and status, where it has its own subresource) over to an update. */
function keepSystemFields(def: ResourceDef, current: KubeObject, next: KubeObject): KubeObject {
  const out = clone(next);
  out.metadata = { ...out.metadata };
  const meta = current.metadata;
  out.metadata.name = meta.name;
  out.metadata.namespace = meta.namespace;
  out.metadata.uid = meta.uid;
  out.metadata.creationTimestamp = meta.creationTimestamp;
  out.metadata.resourceVersion = meta.resourceVersion;
  if (meta.generation !== undefined) out.metadata.generation = meta.generation;
  if (meta.generateName) out.metadata.generateName = meta.generateName;
  for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
    if (meta[field] === undefined) delete out.metadata[field];
    else out.metadata[field] = meta[field] as never;
  }
  delete out.metadata.managedFields;
  if (STATUS_SUBRESOURCE.has(def.plural)) {
    if (current.status === undefined) delete out.status;
    else out.status = clone(current.status);
  }
  if (def.plural === 'namespaces') out.spec = clone(current.spec);
  for (const [k, v] of Object.entries(out.metadata)) if (v === null || v === undefined) delete out.metadata[k];
  return out;
}

/** Equality that ignores what the server itself maintains. */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): Obj => ({ ...o, metadata: { ...o.metadata, managedFields: undefined, resourceVersion: undefined } });
  return deepEqual(strip(a), strip(b));
}

/** Who owns what, without timestamps: a change here is worth a new resourceVersion. */
function ownerSummary(fields: FieldState): Record<string, string> {
  return Object.fromEntries(Object.entries(fields.owners).map(([k, o]) => [k, `${o.manager}/${o.operation}`]));
}

/** Serves the core/v1 API over a Store; pod and namespace lifecycles run in `lifecycle`. */
export class KubeApi {
  constructor(
    private readonly store: Store,
    private readonly lifecycle: Lifecycle,
    private readonly version: string,
  ) {}

  /** Handles one request; never throws (errors become Status responses). */
  handle(req: ApiRequest, res: ServerResponse): void {
    try {
      this.route(req, res);
    } catch (error) {
      if (error instanceof ApiError) {
        sendJson(res, error.code, error.toStatus(), error.headers);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        sendJson(res, 500, new ApiError(500, 'InternalError', `kube-sim: ${message}`).toStatus());
      }
    }
  }

  private route(req: ApiRequest, res: ServerResponse): void {
    const path = req.url.pathname.replace(/\/+$/, '') || '/';
    const get = req.method === 'GET';
    if (path === '/version' && get) return sendJson(res, 200, versionInfo(this.version));
    if (['/healthz', '/livez', '/readyz'].includes(path)) return sendText(res, 200, 'ok');
    if (path === '/api' && get) return sendJson(res, 200, apiVersions(String(req.headers.host ?? '127.0.0.1')));
    if (path === '/apis' && get) return sendJson(res, 200, apiGroupList());
    if (path === '/api/v1' && get) return sendJson(res, 200, resourceList());
    for (const group of GROUPS) {
      if (path === `/apis/${group}` && get) return sendJson(res, 200, apiGroup(group));
      if (path === `/apis/${group}/v1` && get) return sendJson(res, 200, resourceList(group));
    }
    if (path === '/openapi/v3' && get) return sendJson(res, 200, openapiIndex());
    const document = get && path.startsWith('/openapi/v3/') ? openapiDocument(path.slice('/openapi/v3/'.length)) : undefined;
    if (document) return sendJson(res, 200, document);
    const root = /^\/(?:api\/v1|apis\/([a-z0-9.-]+)\/v1)\//.exec(path);
    if (!root || (root[1] !== undefined && !GROUPS.includes(root[1]))) {
      if (path.startsWith('/apis/') || path.startsWith('/api/')) throw noSuchResource();
      return sendText(res, 404, '404 page not found\n');
    }
    const group = root[1] ?? '';
    let rest = path.slice(root[0].length).split('/').map(decodeURIComponent);
    let watch = req.url.searchParams.get('watch') === 'true' || req.url.searchParams.get('watch') === '1';
    if (rest[0] === 'watch') {
      rest = rest.slice(1);
      watch = true;
    }
    const target = this.resolve(rest, group);
    if (target.name === undefined) return this.collection(req, res, target, watch);
    if (watch && req.method === 'GET') {
      req.url.searchParams.set('fieldSelector', [`metadata.name=${target.name}`, req.url.searchParams.get('fieldSelector')].filter(Boolean).join(','));
      return this.watch(req, res, { ...target, name: undefined });
    }
    return this.item(req, res, target);
  }

  private resolve(parts: string[], group: string): Target {
    const [first, second, third, fourth, fifth] = parts;
    const inGroup = (plural: string | undefined) => (plural !== undefined && RESOURCES[plural]?.group === group ? RESOURCES[plural] : undefined);
    const namespaced = inGroup(third);
    if (first === 'namespaces' && second !== undefined && namespaced?.namespaced) {
      if (parts.length > 5) throw noSuchResource();
      return this.withSub({ def: namespaced, namespace: second, name: fourth }, fifth);
    }
    const def = inGroup(first);
    if (!def || parts.length > 3) throw noSuchResource();
    return this.withSub({ def, name: second }, third);
  }

  private withSub(target: Target, sub: string | undefined): Target {
    if (sub !== undefined && !target.def.subresources[sub]) throw noSuchResource();
    return { ...target, sub };
  }

  private collection(req: ApiRequest, res: ServerResponse, target: Target, watch: boolean): void {
    if (req.method === 'GET') return watch ? this.watch(req, res, target) : this.list(req, res, target);
    if (req.method === 'POST') return this.create(req, res, target);
    if (req.method === 'DELETE' && target.def.verbs.includes('deletecollection')) return this.deleteCollection(req, res, target);
    throw methodNotAllowed();
  }

  private item(req: ApiRequest, res: ServerResponse, target: Target): void {
    const { def, sub } = target;
    if (sub === 'log') {
      if (req.method !== 'GET') throw methodNotAllowed();
      return this.logs(req, res, target);
    }
    switch (req.method) {
      case 'GET': {
        const record = this.mustGet(target);
        if (wantsTable(String(req.headers.accept))) {
          return sendJson(res, 200, toTable(def.plural, [record.obj], String(this.store.rv), req.url.searchParams.get('includeObject')));
        }
        return sendJson(res, 200, record.obj);
      }
      case 'PUT':
        return this.update(req, res, target);
      case 'PATCH':
        return this.patch(req, res, target);
      case 'DELETE':
        if (sub) throw methodNotAllowed();
        return this.delete(req, res, target);
      default:
        throw methodNotAllowed();
    }
  }

  private mustGet(target: Target): StoredRecord {
    const record = this.store.get(target.def.plural, target.namespace, target.name ?? '');
    if (!record) throw notFound(target.def.plural, target.name ?? '');
    return record;
  }

  private filtered(req: ApiRequest, target: Target): StoredRecord[] {
    const labels = parseLabelSelector(req.url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(req.url.searchParams.get('fieldSelector'), target.def.plural);
    return this.store.list(target.def.plural, target.namespace).filter((r) => labels.matches(r.obj.metadata.labels) && fields.matches(r.obj));
  }

  private list(req: ApiRequest, res: ServerResponse, target: Target): void {
    const objects = this.filtered(req, target).map((r) => r.obj);
    const rv = String(this.store.rv);
    if (wantsTable(String(req.headers.accept))) {
      return sendJson(res, 200, toTable(target.def.plural, objects, rv, req.url.searchParams.get('includeObject')));
    }
    if (String(req.headers.accept).split(',')[0].includes('as=PartialObjectMetadataList')) {
      const items = objects.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }));
      return sendJson(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: rv }, items });
    }
    sendJson(res, 200, { kind: `${target.def.kind}List`, apiVersion: apiVersionOf(target.def), metadata: { resourceVersion: rv }, items: objects.map(listItem) });
  }

  /** A chunked stream of watch events: initial state or history replay, then live changes. */
  private watch(req: ApiRequest, res: ServerResponse, target: Target): void {
    const { def, namespace } = target;
    const params = req.url.searchParams;
    const labels = parseLabelSelector(params.get('labelSelector'));
    const fields = parseFieldSelector(params.get('fieldSelector'), def.plural);
    const table = wantsTable(String(req.headers.accept));
    const matches = (obj: KubeObject | undefined): boolean =>
      obj !== undefined && (namespace === undefined || obj.metadata.namespace === namespace) && labels.matches(obj.metadata.labels) && fields.matches(obj);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const write = (type: string, obj: Obj): void => {
      const object = table && type !== 'ERROR' && type !== 'BOOKMARK' ? toTable(def.plural, [obj as KubeObject], String(this.store.rv), params.get('includeObject')) : obj;
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const send = (event: StoreEvent): void => {
      if (event.plural !== def.plural) return;
      const now = matches(event.obj);
      const before = event.type === 'MODIFIED' && matches(event.prev);
      if (event.type === 'MODIFIED' && now && !before) write('ADDED', event.obj);
      else if (event.type === 'MODIFIED' && !now && before) write('DELETED', event.obj);
      else if (now) write(event.type, event.obj);
    };
    const rvParam = params.get('resourceVersion');
    const sendInitial = params.get('sendInitialEvents') === 'true';
    if (!rvParam || rvParam === '0' || sendInitial) {
      for (const record of this.store.list(def.plural, namespace)) if (matches(record.obj)) write('ADDED', record.obj);
      if (sendInitial) {
        write('BOOKMARK', { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.store.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } });
      }
    } else {
      const history = this.store.since(Number(rvParam));
      if (history === 'expired' || Number.isNaN(Number(rvParam))) {
        const status = new ApiError(410, 'Expired', `too old resource version: ${rvParam} (${this.store.oldestRv})`).toStatus();
        write('ERROR', status);
        res.end();
        return;
      }
      history.forEach(send);
    }
    const unsubscribe = this.store.subscribe(send);
    const timeout = params.get('timeoutSeconds');
    const seconds = timeout && Number(timeout) > 0 ? Number(timeout) : 1800;
    const timer = setTimeout(() => res.end(), seconds * 1000);
    const finish = (): void => {
      clearTimeout(timer);
      unsubscribe();
    };
    res.on('close', finish);
    res.on('finish', finish);
  }

  private checkNamespace(target: Target, name: string): void {
    if (!target.def.namespaced) return;
    const ns = this.store.get('namespaces', undefined, target.namespace ?? '');
    if (!ns) throw notFound('namespaces', target.namespace ?? '');
    if (ns.obj.metadata.deletionTimestamp) {
      throw forbidden(target.def.plural, name, `unable to create new content in namespace ${target.namespace} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${target.namespace} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }

  /** Validation, defaulting and admission for a new object; returns it ready to store. */
  private prepareCreate(target: Target, input: KubeObject): KubeObject {
    const { def } = target;
    const obj = clone(input);
    if (def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== target.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = target.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${nameSuffix()}`;
    const name = obj.metadata.name ?? '';
    if (name) {
      this.checkNamespace(target, name);
      const existing = this.store.get(def.plural, target.namespace, name);
      if (existing) throw alreadyExists(def.plural, name, existing.obj.metadata.deletionTimestamp !== undefined);
    }
    const problem = decodeProblem(def.plural, obj);
    if (problem) throw badRequest(problem);
    applyCreateDefaults(def.plural, obj);
    const causes = validateObject(def.plural, obj);
    if (causes.length) throw invalid(def.kind, name, causes);
    if (def.plural === 'pods') {
      const violations = this.podSecurity(target.namespace, asObj(obj.spec) ?? {});
      if (violations.length) throw forbidden('pods', name, violationMessage(violations));
      const sa = String(asObj(obj.spec)?.serviceAccountName ?? 'default');
      if (!this.store.get('serviceaccounts', target.namespace, sa)) {
        throw forbidden('pods', name, `error looking up service account ${target.namespace}/${sa}: serviceaccount "${sa}" not found`);
      }
    }
    for (const field of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'] as const) {
      delete obj.metadata[field];
    }
    obj.metadata.uid = uid();
    obj.metadata.creationTimestamp = timestamp();
    if (!STATUS_SUBRESOURCE.has(def.plural)) delete obj.status;
    return obj;
  }

  /** Pod Security "restricted" violations of a pod spec, when the namespace enforces that level. */
  private podSecurity(namespace: string | undefined, spec: Obj): string[] {
    const ns = this.store.get('namespaces', undefined, namespace ?? '');
    return enforcedLevel(ns?.obj) === 'restricted' ? restrictedViolations(spec) : [];
  }

  /** The Pod Security warning on a workload whose pods the namespace would refuse. */
  private workloadWarnings(def: ResourceDef, obj: KubeObject, warnings: string[]): void {
    if (def.plural !== 'statefulsets') return;
    const violations = this.podSecurity(obj.metadata.namespace, asObj(asObj(asObj(obj.spec)?.template)?.spec) ?? {});
    if (violations.length) warnings.push(`would ${violationMessage(violations)}`);
  }

  /** Creates an object as a controller does: through admission, owned by the controller's field manager. */
  createByController(plural: string, input: KubeObject, manager: string): KubeObject {
    const def = RESOURCES[plural];
    const obj = this.prepareCreate({ def, namespace: input.metadata.namespace }, input);
    const fields: FieldState = { owners: {}, applied: {} };
    recordUpdate(fields, undefined, obj, manager, def.kind);
    return this.store_(plural, obj, fields);
  }

  private store_(plural: string, obj: KubeObject, fields: FieldState): KubeObject {
    const stored = this.store.put(plural, obj, fields);
    if (plural === 'namespaces') this.lifecycle.createDefaultServiceAccount(obj.metadata.name ?? '', { owners: {}, applied: {} });
    return stored;
  }

  private create(req: ApiRequest, res: ServerResponse, target: Target): void {
    const warnings: string[] = [];
    const body = decodeBody(req, target.def);
    checkFields(req, target.def, body, warnings);
    const obj = this.prepareCreate(target, toObject(body, target.def));
    this.workloadWarnings(target.def, obj, warnings);
    if (isDryRun(req)) return sendJson(res, 201, { ...obj, apiVersion: apiVersionOf(target.def), kind: target.def.kind }, warningHeaders(warnings));
    const fields: FieldState = { owners: {}, applied: {} };
    recordUpdate(fields, undefined, obj, managerOf(req), target.def.kind);
    sendJson(res, 201, this.store_(target.def.plural, obj, fields), warningHeaders(warnings));
  }

  /** Validates and stores a changed object (or returns the current one when nothing changed). */
  private commit(req: ApiRequest, target: Target, record: StoredRecord, next: KubeObject, fields: FieldState, ownershipChanged: boolean): KubeObject {
    const { def } = target;
    const current = record.obj;
    if (def.plural === 'secrets') foldStringData(next);
    const problem = decodeProblem(def.plural, next);
    if (problem) throw badRequest(problem);
    if (!target.sub) {
      const causes = validateObject(def.plural, next);
      if (def.plural === 'pods') causes.push(...checkPodUpdate(current, next));
      if (def.plural === 'statefulsets') causes.push(...checkStatefulSetUpdate(current, next));
      if (def.plural === 'secrets' || def.plural === 'configmaps') causes.push(...checkImmutableData(current, next));
      if (causes.length) throw invalid(def.kind, current.metadata.name ?? '', causes);
    }
    if (sameObject(current, next) && !ownershipChanged) return clone(current);
    if (def.plural === 'statefulsets' && !deepEqual(current.spec, next.spec)) next.metadata.generation = (asNum(current.metadata.generation) ?? 1) + 1;
    if (isDryRun(req)) return next;
    return this.store.put(def.plural, next, fields);
  }

  private update(req: ApiRequest, res: ServerResponse, target: Target): void {
    const { def } = target;
    const warnings: string[] = [];
    const body = decodeBody(req, def);
    checkFields(req, def, body, warnings);
    const input = toObject(body, def);
    if (input.metadata.name && input.metadata.name !== target.name) {
      throw badRequest(`the name of the object (${input.metadata.name}) does not match the name on the URL (${target.name})`);
    }
    const record = this.mustGet(target);
    const rv = input.metadata.resourceVersion;
    if (rv && rv !== record.obj.metadata.resourceVersion) throw conflict(def.plural, target.name ?? '');
    const next = target.sub === 'status' ? { ...clone(record.obj), status: input.status } : keepSystemFields(def, record.obj, input);
    const fields = clone(record.fields);
    if (!target.sub) recordUpdate(fields, record.obj, next, managerOf(req), def.kind);
    if (!target.sub) this.workloadWarnings(def, next, warnings);
    sendJson(res, 200, this.commit(req, target, record, next, fields, false), warningHeaders(warnings));
  }

  private patch(req: ApiRequest, res: ServerResponse, target: Target): void {
    const { def } = target;
    const type = contentType(req);
    if (!PATCH_TYPES.includes(type)) throw unsupportedPatch();
    const warnings: string[] = [];
    const body = decodeBody(req, def);
    if (type === 'application/apply-patch+yaml') return this.apply(req, res, target, body, warnings);
    if (type !== 'application/json-patch+json') checkFields(req, def, body, warnings);
    const record = this.mustGet(target);
    let patched: unknown;
    if (type === 'application/merge-patch+json') patched = mergePatch(record.obj, body);
    else if (type === 'application/json-patch+json') patched = jsonPatch(record.obj, body);
    else patched = strategicMerge(record.obj, body, def.kind);
    const patchedObj = toObject(patched, def);
    const next = target.sub === 'status' ? { ...clone(record.obj), status: patchedObj.status } : keepSystemFields(def, record.obj, patchedObj);
    const fields = clone(record.fields);
    if (!target.sub) recordUpdate(fields, record.obj, next, managerOf(req), def.kind);
    if (!target.sub) this.workloadWarnings(def, next, warnings);
    sendJson(res, 200, this.commit(req, target, record, next, fields, false), warningHeaders(warnings));
  }

  /** Server-side apply: creates the object when missing (201), else merges with ownership rules. */
  private apply(req: ApiRequest, res: ServerResponse, target: Target, body: unknown, warnings: string[]): void {
    const { def } = target;
    const manager = req.url.searchParams.get('fieldManager');
    if (!manager) {
      throw invalid('PatchOptions.meta.k8s.io', '', [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
    }
    checkFields(req, def, body, warnings);
    const config = toObject(body, def);
    if (config.metadata.name && config.metadata.name !== target.name) {
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${target.name})`);
    }
    if (def.plural === 'secrets') foldStringData(config);
    const force = req.url.searchParams.get('force') === 'true';
    const record = this.store.get(def.plural, target.namespace, target.name ?? '');
    if (!record) {
      const fields: FieldState = { owners: {}, applied: {} };
      const applied = serverSideApply(fields, undefined, config, manager, force, def.kind, def.plural);
      applied.metadata = { ...asObj(applied.metadata), ...config.metadata, name: target.name };
      const obj = this.prepareCreate(target, applied);
      this.workloadWarnings(def, obj, warnings);
      if (isDryRun(req)) return sendJson(res, 201, { ...obj, apiVersion: apiVersionOf(def), kind: def.kind }, warningHeaders(warnings));
      return sendJson(res, 201, this.store_(def.plural, obj, fields), warningHeaders(warnings));
    }
    const fields = clone(record.fields);
    const merged = serverSideApply(fields, record.obj, config, manager, force, def.kind, def.plural);
    const next = keepSystemFields(def, record.obj, merged);
    const ownershipChanged = !deepEqual(ownerSummary(fields), ownerSummary(record.fields));
    if (!target.sub) this.workloadWarnings(def, next, warnings);
    sendJson(res, 200, this.commit(req, target, record, next, fields, ownershipChanged), warningHeaders(warnings));
  }

  private deleteOptions(req: ApiRequest): Obj {
    const text = req.body.toString('utf8').trim();
    let options: Obj = {};
    if (text) {
      try {
        options = asObj(JSON.parse(text)) ?? {};
      } catch {
        throw badRequest('DeleteOptions in version "v1" cannot be handled as a DeleteOptions');
      }
    }
    const grace = req.url.searchParams.get('gracePeriodSeconds');
    if (grace !== null) options.gracePeriodSeconds = Number(grace);
    return options;
  }

  private delete(req: ApiRequest, res: ServerResponse, target: Target): void {
    const { def } = target;
    const record = this.mustGet(target);
    const options = this.deleteOptions(req);
    const pre = asObj(options.preconditions);
    if (pre?.uid !== undefined && pre.uid !== record.obj.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${String(pre.uid)}, UID in object meta: ${record.obj.metadata.uid}`, {
        name: target.name, kind: def.plural,
      });
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== record.obj.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${String(pre.resourceVersion)}, ResourceVersion in object meta: ${record.obj.metadata.resourceVersion}`, {
        name: target.name, kind: def.plural,
      });
    }
    if (def.plural === 'namespaces' && PROTECTED_NAMESPACES.includes(target.name ?? '')) {
      throw forbidden('namespaces', target.name ?? '', 'this namespace may not be deleted');
    }
    if (isDryRun(req)) {
      return sendJson(res, 200, def.plural === 'pods' || def.plural === 'namespaces' ? record.obj : deleted(def.plural, target.name ?? '', record.obj.metadata.uid));
    }
    sendJson(res, 200, this.deleteRecord(record, options));
  }

  private deleteRecord(record: StoredRecord, options: Obj): Obj {
    const { plural, obj } = record;
    if (plural === 'pods') return this.lifecycle.deletePod(record, asNum(options.gracePeriodSeconds));
    if (plural === 'namespaces') return this.lifecycle.deleteNamespace(record);
    this.store.remove(plural, obj.metadata.namespace, obj.metadata.name ?? '');
    return deleted(plural, obj.metadata.name ?? '', obj.metadata.uid);
  }

  private deleteCollection(req: ApiRequest, res: ServerResponse, target: Target): void {
    const options = this.deleteOptions(req);
    const items = this.filtered(req, target).map((record) => {
      if (isDryRun(req)) return listItem(record.obj);
      const result = this.deleteRecord(record, options);
      return listItem(result.kind === 'Status' ? record.obj : (result as KubeObject));
    });
    sendJson(res, 200, { kind: `${target.def.kind}List`, apiVersion: apiVersionOf(target.def), metadata: { resourceVersion: String(this.store.rv) }, items });
  }

  private logs(req: ApiRequest, res: ServerResponse, target: Target): void {
    const pod = this.mustGet(target).obj;
    const containers = ((asObj(pod.spec)?.containers as unknown[] | undefined) ?? []).map((c) => String(asObj(c)?.name));
    let container = req.url.searchParams.get('container');
    if (!container) {
      if (containers.length !== 1) {
        throw badRequest(`a container name must be specified for pod ${target.name}, choose one of: [${containers.join(' ')}]`);
      }
      container = containers[0];
    }
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${target.name}`);
    const statuses = ((asObj(pod.status)?.containerStatuses as unknown[] | undefined) ?? []).filter(isObj);
    const cs = statuses.find((s) => s.name === container);
    const waiting = asObj(asObj(cs?.state)?.waiting);
    if (!cs || (waiting && !asObj(cs.lastState)?.terminated)) {
      const reason = asStr(waiting?.reason) ?? 'ContainerCreating';
      throw badRequest(`container "${container}" in pod "${target.name}" is waiting to start: ${reason}`);
    }
    if (req.url.searchParams.get('previous') === 'true') {
      const last = asObj(asObj(cs.lastState)?.terminated);
      if (!last) throw badRequest(`previous terminated container "${container}" in pod "${target.name}" not found`);
      return sendText(res, 200, `kube-sim: container ${container} of pod ${target.namespace}/${target.name} exited with code ${String(last.exitCode)} (${String(last.reason)})\n`);
    }
    const custom = pod.metadata.annotations?.['kube-sim/log'];
    const text = custom ?? `kube-sim: container ${container} of pod ${target.namespace}/${target.name} is running image ${String(cs.image)}\n`;
    if (req.url.searchParams.get('follow') !== 'true') return sendText(res, 200, text);
    // Followed: the output so far, then the stream stays open (the container writes nothing more) until the client goes.
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.write(text);
  }
}
