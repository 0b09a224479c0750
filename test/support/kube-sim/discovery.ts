/**
 * Discovery and OpenAPI documents: just enough for kubectl's REST mapper and for its
 * server-side field validation check (`/openapi/v3` with `fieldValidation` on each PATCH).
 */
import { createHash } from 'node:crypto';
import { RESOURCES } from './resources.ts';
import type { Obj } from './util.ts';

/** `GET /version` for a server version such as `1.32.2`. */
export function versionInfo(version: string): Obj {
  const [major, minor] = version.split('.');
  return {
    major,
    minor,
    gitVersion: `v${version}`,
    gitCommit: createHash('sha1').update(version).digest('hex'),
    gitTreeState: 'clean',
    buildDate: '2025-02-12T21:19:47Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `GET /api` (legacy discovery; clients fall back to it when the reply is plain JSON). */
export function apiVersions(hostPort: string): Obj {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: hostPort }] };
}

/** `GET /apis`: no API groups besides core. */
export function apiGroupList(): Obj {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

/** `GET /api/v1`: the resource list kubectl's REST mapper and client-node's generic client read. */
export function resourceList(): Obj {
  const resources: Obj[] = [];
  for (const def of Object.values(RESOURCES)) {
    const entry: Obj = { name: def.plural, singularName: def.singular, namespaced: def.namespaced, kind: def.kind, verbs: def.verbs };
    if (def.shortNames) entry.shortNames = def.shortNames;
    if (def.categories) entry.categories = def.categories;
    resources.push(entry);
    for (const [sub, verbs] of Object.entries(def.subresources)) {
      resources.push({ name: `${def.plural}/${sub}`, singularName: '', namespaced: def.namespaced, kind: sub === 'log' ? 'Pod' : def.kind, verbs });
    }
  }
  return { kind: 'APIResourceList', groupVersion: 'v1', resources };
}

/** The `/openapi/v3/api/v1` document: each kind's item path with a PATCH that takes fieldValidation. */
function openapiV1(): Obj {
  const paths: Obj = {};
  for (const def of Object.values(RESOURCES)) {
    const path = def.namespaced ? `/api/v1/namespaces/{namespace}/${def.plural}/{name}` : `/api/v1/${def.plural}/{name}`;
    const gvk = { group: '', version: 'v1', kind: def.kind };
    paths[path] = {
      get: { operationId: `readCoreV1${def.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      patch: {
        operationId: `patchCoreV1${def.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.2' }, paths };
}

const V1_DOC = JSON.stringify(openapiV1());
const V1_HASH = createHash('sha512').update(V1_DOC).digest('hex').slice(0, 128).toUpperCase();

/** `GET /openapi/v3`: the index pointing at the v1 document (the hash lets kubectl cache it). */
export function openapiIndex(): Obj {
  return { paths: { 'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${V1_HASH}` } } };
}

/** `GET /openapi/v3/api/v1` as a JSON string. */
export function openapiV1Document(): string {
  return V1_DOC;
}
