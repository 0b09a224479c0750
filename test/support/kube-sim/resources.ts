/**
 * The resources the simulator serves (core/v1, and apps/v1 StatefulSets) and the defaults the
 * API server fills in on create.
 */
import { asArr, asObj, asStr, isObj, nameSuffix, type KubeObject, type Obj } from './util.ts';

/** One resource, as listed by `GET /api/v1` or `GET /apis/<group>/<version>`. */
export interface ResourceDef {
  /** The API group: '' for core. */
  group: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** Subresources and their verbs, e.g. pods/status. */
  subresources: Record<string, string[]>;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const core = (def: Omit<ResourceDef, 'group'>): ResourceDef => ({ group: '', ...def });

/** Every resource the simulator knows, keyed by plural. */
export const RESOURCES: Record<string, ResourceDef> = Object.fromEntries(Object.entries<Omit<ResourceDef, 'group'>>({
  configmaps: { plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], verbs: ALL_VERBS, subresources: {} },
  events: { plural: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: ALL_VERBS, subresources: {} },
  namespaces: {
    plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: { status: ['get', 'patch', 'update'], finalize: ['update'] },
  },
  nodes: { plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], verbs: ALL_VERBS, subresources: { status: ['get', 'patch', 'update'] } },
  pods: {
    plural: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], verbs: ALL_VERBS,
    subresources: { log: ['get'], status: ['get', 'patch', 'update'] },
  },
  secrets: { plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, verbs: ALL_VERBS, subresources: {} },
  serviceaccounts: { plural: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], verbs: ALL_VERBS, subresources: {} },
  services: {
    plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], subresources: { status: ['get', 'patch', 'update'] },
  },
}).map(([plural, def]) => [plural, core(def)]));
RESOURCES.statefulsets = {
  group: 'apps', plural: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', namespaced: true, shortNames: ['sts'], categories: ['all'], verbs: ALL_VERBS,
  subresources: { status: ['get', 'patch', 'update'], scale: ['get', 'patch', 'update'] },
};

/** The apiVersion of a resource's objects: `v1` or `<group>/v1`. */
export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/v1` : 'v1';
}

/** The resource whose Kind is `kind`, if any. */
export function resourceForKind(kind: string | undefined): ResourceDef | undefined {
  return Object.values(RESOURCES).find((r) => r.kind === kind);
}

/** True when the image reference has no tag (or `:latest`) and no digest: pulled Always. */
export function isLatestImage(image: string): boolean {
  if (image.includes('@')) return false;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon < 0 || lastSegment.slice(colon + 1) === 'latest';
}

function defaultContainer(container: Obj): void {
  const image = asStr(container.image) ?? '';
  container.imagePullPolicy ??= isLatestImage(image) ? 'Always' : 'IfNotPresent';
  container.resources ??= {};
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  for (const port of asArr(container.ports)) if (isObj(port)) port.protocol ??= 'TCP';
  for (const probeName of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const probe = asObj(container[probeName]);
    if (!probe) continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
  }
  for (const env of asArr(container.env)) {
    const fieldRef = asObj(asObj(asObj(env)?.valueFrom)?.fieldRef);
    if (fieldRef) fieldRef.apiVersion ??= 'v1';
  }
}

/** BestEffort, Burstable or Guaranteed from the containers' requests and limits. */
export function qosClass(spec: Obj): string {
  const containers = asArr(spec.containers).filter(isObj);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests = asObj(asObj(c.resources)?.requests) ?? {};
    const limits = asObj(asObj(c.resources)?.limits) ?? {};
    if (Object.keys(requests).length || Object.keys(limits).length) any = true;
    for (const res of ['cpu', 'memory']) {
      if (limits[res] === undefined || (requests[res] !== undefined && requests[res] !== limits[res])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The defaults of a pod spec, in a Pod or a pod template. */
function defaultPodSpec(spec: Obj): void {
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  spec.restartPolicy ??= 'Always';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.serviceAccountName ??= asStr(spec.serviceAccount) ?? 'default';
  spec.serviceAccount = spec.serviceAccountName;
  spec.terminationGracePeriodSeconds ??= 30;
  for (const volume of asArr(spec.volumes).filter(isObj)) {
    const source = asObj(volume.configMap) ?? asObj(volume.secret);
    if (source) source.defaultMode ??= 420;
  }
  [...asArr(spec.initContainers), ...asArr(spec.containers)].filter(isObj).forEach(defaultContainer);
}

function defaultPod(pod: KubeObject): void {
  const spec = asObj(pod.spec) ?? {};
  pod.spec = spec;
  defaultPodSpec(spec);
  // The DefaultTolerationSeconds admission plugin, on pods only (not on templates).
  const tolerations = asArr(spec.tolerations).filter(isObj);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key)) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
  const containers = [...asArr(spec.initContainers), ...asArr(spec.containers)].filter(isObj);
  // The ServiceAccount admission plugin mounts a token volume into every container.
  if (spec.automountServiceAccountToken !== false) {
    const volumeName = `kube-api-access-${nameSuffix()}`;
    const volumes = asArr(spec.volumes);
    volumes.push({
      name: volumeName,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    });
    spec.volumes = volumes;
    for (const c of containers) {
      const mounts = asArr(c.volumeMounts);
      mounts.push({ name: volumeName, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
      c.volumeMounts = mounts;
    }
  }
  pod.status = { phase: 'Pending', qosClass: qosClass(spec) };
}

/** Folds `stringData` into base64 `data`, as the API server does on every write. */
export function foldStringData(secret: KubeObject): void {
  const stringData = asObj(secret.stringData);
  if (stringData) {
    const data = asObj(secret.data) ?? {};
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    secret.data = data;
  }
  delete secret.stringData;
}

/** Fills in the defaults a real API server adds when the object is created. */
export function applyCreateDefaults(plural: string, obj: KubeObject): void {
  switch (plural) {
    case 'pods':
      defaultPod(obj);
      break;
    case 'statefulsets': {
      const spec = asObj(obj.spec) ?? {};
      obj.spec = spec;
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate' };
      const strategy = asObj(spec.updateStrategy);
      if (strategy?.type === 'RollingUpdate') strategy.rollingUpdate ??= { partition: 0 };
      spec.revisionHistoryLimit ??= 10;
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      const template = asObj(spec.template) ?? {};
      const templateSpec = asObj(template.spec);
      if (templateSpec) defaultPodSpec(templateSpec);
      obj.metadata.generation = 1;
      obj.status = { replicas: 0, availableReplicas: 0 };
      break;
    }
    case 'secrets':
      foldStringData(obj);
      if (!obj.type) obj.type = 'Opaque';
      break;
    case 'namespaces': {
      const name = obj.metadata.name ?? '';
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': name };
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      break;
    }
    case 'services': {
      const spec = asObj(obj.spec) ?? {};
      obj.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      spec.clusterIP ??= `10.96.${Math.floor(Math.random() * 200) + 1}.${Math.floor(Math.random() * 250) + 1}`;
      spec.clusterIPs ??= [spec.clusterIP];
      for (const port of asArr(spec.ports).filter(isObj)) {
        port.protocol ??= 'TCP';
        port.targetPort ??= port.port;
      }
      obj.status ??= { loadBalancer: {} };
      break;
    }
  }
}

/** The objects a fresh kind cluster already has: namespaces, the API and DNS services, one node. */
export function seedObjects(version: string): { plural: string; obj: KubeObject }[] {
  const seeds: { plural: string; obj: KubeObject }[] = [];
  for (const ns of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) {
    seeds.push({ plural: 'namespaces', obj: { metadata: { name: ns } } });
  }
  seeds.push({
    plural: 'services',
    obj: {
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    },
  });
  seeds.push({
    plural: 'services',
    obj: {
      metadata: {
        name: 'kube-dns', namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      },
      spec: {
        type: 'ClusterIP', clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    },
  });
  seeds.push({
    plural: 'nodes',
    obj: {
      metadata: {
        name: 'kind-control-plane',
        labels: { 'kubernetes.io/hostname': 'kind-control-plane', 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/control-plane': '' },
      },
      spec: { podCIDR: '10.244.0.0/24', providerID: 'kind://docker/kind/kind-control-plane' },
      status: {
        addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'kind-control-plane' }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        nodeInfo: { kubeletVersion: `v${version}`, containerRuntimeVersion: 'containerd://1.7.24', osImage: 'Debian GNU/Linux 12 (bookworm)', architecture: 'amd64', operatingSystem: 'linux' },
      },
    },
  });
  return seeds;
}
