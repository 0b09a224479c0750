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

/** The API groups besides core, each served at version v1. */
export const GROUPS = ['apps'];

/** `GET /apis`: the named groups (apps). */
export function apiGroupList(): Obj {
  const groups = GROUPS.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `GET /apis/<group>`: one group. */
export function apiGroup(group: string): Obj {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroupList().groups as Obj[]).find((g) => g.name === group) };
}

/**
 * `GET /api/v1` (group '') or `GET /apis/<group>/v1`: the resource list kubectl's REST mapper
 * reads.
 */
export function resourceList(group = ''): Obj {
  const resources: Obj[] = [];
  for (const def of Object.values(RESOURCES).filter((d) => d.group === group)) {
    const entry: Obj = { name: def.plural, singularName: def.singular, namespaced: def.namespaced, kind: def.kind, verbs: def.verbs };
    if (def.shortNames) entry.shortNames = def.shortNames;
    if (def.categories) entry.categories = def.categories;
    resources.push(entry);
    for (const [sub, verbs] of Object.entries(def.subresources)) {
      resources.push({ name: `${def.plural}/${sub}`, singularName: '', namespaced: def.namespaced, kind: sub === 'log' ? 'Pod' : sub === 'scale' ? 'Scale' : def.kind, verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/v1` : 'v1', resources };
}

/** The `/openapi/v3/api/v1` (or `/apis/<group>/v1`) document: each kind's item path with a PATCH that takes fieldValidation. */
function openapiDoc(group: string): Obj {
  const paths: Obj = {};
  const root = group ? `/apis/${group}/v1` : '/api/v1';
  for (const def of Object.values(RESOURCES).filter((d) => d.group === group)) {
    const path = def.namespaced ? `${root}/namespaces/{namespace}/${def.plural}/{name}` : `${root}/${def.plural}/{name}`;
    const gvk = { group, version: 'v1', kind: def.kind };
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

/** Each OpenAPI document by its path under /openapi/v3, with its text and hash. */
const DOCS = new Map(['', ...GROUPS].map((group) => {
  const text = JSON.stringify(openapiDoc(group));
  return [group ? `apis/${group}/v1` : 'api/v1', { text, hash: createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase() }];
}));

/** `GET /openapi/v3`: the index pointing at each group's document (the hash lets kubectl cache it). */
export function openapiIndex(): Obj {
  return { paths: Object.fromEntries([...DOCS].map(([path, doc]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${doc.hash}` }])) };
}

/** `GET /openapi/v3/<path>` as a JSON string, if there is such a document. */
export function openapiDocument(path: string): string | undefined {
  return DOCS.get(path)?.text;
}
