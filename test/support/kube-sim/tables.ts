/**
 * Server-side printing: the `meta.k8s.io/v1 Table` kubectl asks for when it prints a human
 * table (`kubectl get pods`), with the columns a real API server uses for each kind.
 */
import { asArr, asObj, asStr, isObj, type KubeObject, type Obj } from './util.ts';

interface Column {
  name: string;
  priority?: number;
  cell: (obj: KubeObject) => string | number;
}

/** Age the way kubectl prints it: 45s, 3m12s, 17m, 5h3m, 2d4h, 40d. */
export function humanAge(created: string | null | undefined, now = Date.now()): string {
  if (!created) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`;
  if (hours < 3) return `${minutes}m`;
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  if (days < 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  return `${days}d`;
}

/** The STATUS column of `kubectl get pods`, following kubectl's precedence of reasons. */
export function podStatusText(pod: KubeObject): string {
  const status = asObj(pod.status) ?? {};
  let reason = asStr(status.reason) ?? asStr(status.phase) ?? 'Unknown';
  let running = false;
  for (const cs of [...asArr(status.containerStatuses)].reverse()) {
    const state = asObj(asObj(cs)?.state) ?? {};
    const waiting = asObj(state.waiting);
    const terminated = asObj(state.terminated);
    if (waiting && asStr(waiting.reason)) reason = String(waiting.reason);
    else if (terminated) {
      reason = asStr(terminated.reason) ?? (terminated.signal ? `Signal:${String(terminated.signal)}` : `ExitCode:${String(terminated.exitCode)}`);
    } else if (state.running && asObj(cs)?.ready) running = true;
  }
  if (reason === 'Completed' && running) reason = 'Running';
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podReady(pod: KubeObject): string {
  const statuses = asArr(asObj(pod.status)?.containerStatuses).filter(isObj);
  const total = asArr(asObj(pod.spec)?.containers).length;
  return `${statuses.filter((s) => s.ready === true).length}/${total}`;
}

function podRestarts(pod: KubeObject): string {
  const statuses = asArr(asObj(pod.status)?.containerStatuses).filter(isObj);
  return String(statuses.reduce((sum, s) => sum + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0));
}

const age: Column = { name: 'Age', cell: (o) => humanAge(o.metadata.creationTimestamp) };
const name: Column = { name: 'Name', cell: (o) => o.metadata.name ?? '' };

const COLUMNS: Record<string, Column[]> = {
  pods: [
    name,
    { name: 'Ready', cell: podReady },
    { name: 'Status', cell: podStatusText },
    { name: 'Restarts', cell: podRestarts },
    age,
    { name: 'IP', priority: 1, cell: (o) => asStr(asObj(o.status)?.podIP) ?? '<none>' },
    { name: 'Node', priority: 1, cell: (o) => asStr(asObj(o.spec)?.nodeName) ?? '<none>' },
    { name: 'Nominated Node', priority: 1, cell: () => '<none>' },
    { name: 'Readiness Gates', priority: 1, cell: () => '<none>' },
  ],
  namespaces: [name, { name: 'Status', cell: (o) => asStr(asObj(o.status)?.phase) ?? '' }, age],
  secrets: [
    name,
    { name: 'Type', cell: (o) => asStr(o.type) ?? '' },
    { name: 'Data', cell: (o) => Object.keys(asObj(o.data) ?? {}).length },
    age,
  ],
  configmaps: [name, { name: 'Data', cell: (o) => Object.keys({ ...asObj(o.data), ...asObj(o.binaryData) }).length }, age],
  services: [
    name,
    { name: 'Type', cell: (o) => asStr(asObj(o.spec)?.type) ?? '' },
    { name: 'Cluster-IP', cell: (o) => asStr(asObj(o.spec)?.clusterIP) ?? '' },
    { name: 'External-IP', cell: () => '<none>' },
    {
      name: 'Port(s)',
      cell: (o) => asArr(asObj(o.spec)?.ports).filter(isObj).map((p) => `${String(p.port)}/${String(p.protocol ?? 'TCP')}`).join(',') || '<none>',
    },
    age,
  ],
  nodes: [
    name,
    { name: 'Status', cell: () => 'Ready' },
    { name: 'Roles', cell: () => 'control-plane' },
    age,
    { name: 'Version', cell: (o) => asStr(asObj(asObj(o.status)?.nodeInfo)?.kubeletVersion) ?? '' },
  ],
  events: [
    { name: 'Last Seen', cell: (o) => humanAge(asStr(o.lastTimestamp)) },
    { name: 'Type', cell: (o) => asStr(o.type) ?? '' },
    { name: 'Reason', cell: (o) => asStr(o.reason) ?? '' },
    { name: 'Object', cell: (o) => `${String(asObj(o.involvedObject)?.kind ?? '').toLowerCase()}/${String(asObj(o.involvedObject)?.name ?? '')}` },
    { name: 'Message', cell: (o) => asStr(o.message) ?? '' },
  ],
};

/** True when the Accept header asks for server-side Table output. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

/** Builds a Table of `objects`; `includeObject=Object` embeds whole objects instead of metadata. */
export function toTable(plural: string, objects: KubeObject[], resourceVersion: string, includeObject: string | null): Obj {
  const columns = COLUMNS[plural] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.name === 'Data' ? 'integer' : 'string',
      format: c.name === 'Name' ? 'name' : '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
