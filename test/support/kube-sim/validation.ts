/**
 * Server-side validation: names, labels, pod specs, config keys, strict field decoding, and the
 * pod-update rules that make a pod's spec immutable apart from a few fields.
 */
import { type Cause } from './status.ts';
import { asArr, asObj, asStr, deepEqual, clone, isObj, type KubeObject, type Obj } from './util.ts';

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

function invalidValue(field: string, value: unknown, why: string): Cause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

function required(field: string): Cause {
  return { reason: 'FieldValueRequired', field, message: 'Required value' };
}

/** Checks a DNS label (`label`) or subdomain name and returns the causes, if any. */
export function checkName(field: string, name: string, form: 'label' | 'subdomain'): Cause[] {
  if (form === 'label') {
    if (name.length > 63) return [invalidValue(field, name, 'must be no more than 63 characters')];
    return LABEL_RE.test(name) ? [] : [invalidValue(field, name, LABEL_MSG)];
  }
  if (name.length > 253) return [invalidValue(field, name, 'must be no more than 253 characters')];
  return SUBDOMAIN_RE.test(name) ? [] : [invalidValue(field, name, SUBDOMAIN_MSG)];
}

function checkLabels(labels: Record<string, string> | undefined): Cause[] {
  const causes: Cause[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    if (!LABEL_NAME_RE.test(name) || name.length > 63 || (prefix && !SUBDOMAIN_RE.test(prefix))) {
      causes.push(invalidValue('metadata.labels', key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
    if (typeof value !== 'string') continue;
    if (value.length > 63) causes.push(invalidValue('metadata.labels', value, 'must be no more than 63 characters'));
    else if (!LABEL_VALUE_RE.test(value)) causes.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
  }
  return causes;
}

function checkContainers(spec: Obj, volumeNames: Set<string>, where: string, list: 'containers' | 'initContainers'): Cause[] {
  const causes: Cause[] = [];
  const containers = asArr(spec[list]);
  if (containers.length === 0 && list === 'containers') causes.push(required(`${where}.containers`));
  const seen = new Set<string>();
  containers.forEach((raw, i) => {
    const c = asObj(raw) ?? {};
    const at = `${where}.${list}[${i}]`;
    const name = asStr(c.name);
    if (!name) causes.push(required(`${at}.name`));
    else {
      causes.push(...checkName(`${at}.name`, name, 'label'));
      if (seen.has(name)) causes.push({ reason: 'FieldValueDuplicate', field: `${at}.name`, message: `Duplicate value: ${JSON.stringify(name)}` });
      seen.add(name);
    }
    if (!asStr(c.image)) causes.push(required(`${at}.image`));
    asArr(c.env).forEach((env, j) => {
      if (!asStr(asObj(env)?.name)) causes.push(required(`${at}.env[${j}].name`));
    });
    asArr(c.volumeMounts).forEach((m, j) => {
      const mount = asObj(m) ?? {};
      const mountName = asStr(mount.name) ?? '';
      if (!mountName) causes.push(required(`${at}.volumeMounts[${j}].name`));
      else if (!volumeNames.has(mountName)) {
        causes.push({ reason: 'FieldValueNotFound', field: `${at}.volumeMounts[${j}].name`, message: `Not found: ${JSON.stringify(mountName)}` });
      }
      if (!asStr(mount.mountPath)) causes.push(required(`${at}.volumeMounts[${j}].mountPath`));
    });
  });
  return causes;
}

function checkPodSpec(spec: Obj | undefined, where: string): Cause[] {
  if (!spec) return [required(`${where}.containers`)];
  const causes: Cause[] = [];
  const volumeNames = new Set(asArr(spec.volumes).map((v) => asStr(asObj(v)?.name) ?? ''));
  causes.push(...checkContainers(spec, volumeNames, where, 'containers'), ...checkContainers(spec, volumeNames, where, 'initContainers'));
  const policy = spec.restartPolicy;
  if (policy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(policy))) {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: `${where}.restartPolicy`,
      message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Always", "OnFailure", "Never"`,
    });
  }
  return causes;
}

function checkStatefulSet(sts: KubeObject): Cause[] {
  const spec = asObj(sts.spec) ?? {};
  const causes: Cause[] = [];
  const selector = asObj(asObj(spec.selector)?.matchLabels);
  const template = asObj(spec.template) ?? {};
  const templateLabels = asObj(asObj(template.metadata)?.labels) ?? {};
  if (!selector || Object.keys(selector).length === 0) causes.push({ reason: 'FieldValueInvalid', field: 'spec.selector', message: 'Invalid value: "null": empty selector is invalid for statefulset' });
  else if (Object.entries(selector).some(([k, v]) => templateLabels[k] !== v)) {
    causes.push(invalidValue('spec.template.metadata.labels', templateLabels, '`selector` does not match template `labels`'));
  }
  const replicas = spec.replicas;
  if (replicas !== undefined && (typeof replicas !== 'number' || replicas < 0)) causes.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  causes.push(...checkLabels(asObj(asObj(template.metadata)?.labels) as Record<string, string> | undefined).map((c) => ({ ...c, field: 'spec.template.metadata.labels' })));
  causes.push(...checkPodSpec(asObj(template.spec), 'spec.template.spec'));
  const policy = asObj(template.spec)?.restartPolicy;
  if (policy !== undefined && policy !== 'Always') {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Always"` });
  }
  return causes;
}

const STATEFULSET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

/** Checks a StatefulSet update: only replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds may change. */
export function checkStatefulSetUpdate(oldSts: KubeObject, newSts: KubeObject): Cause[] {
  const strip = (o: KubeObject) => Object.fromEntries(Object.entries(asObj(o.spec) ?? {}).filter(([k]) => !STATEFULSET_MUTABLE.includes(k)));
  if (deepEqual(strip(oldSts), strip(newSts))) return [];
  return [{ reason: 'FieldValueForbidden', field: 'spec', message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" }];
}

function checkConfigKeys(obj: KubeObject, fields: string[]): Cause[] {
  const causes: Cause[] = [];
  for (const field of fields) {
    for (const key of Object.keys(asObj(obj[field]) ?? {})) {
      if (!CONFIG_KEY_RE.test(key)) causes.push(invalidValue(`${field}[${key}]`, key, CONFIG_KEY_MSG));
    }
  }
  return causes;
}

/** Validates an object about to be stored; returns the 422 causes (empty when valid). */
export function validateObject(plural: string, obj: KubeObject): Cause[] {
  const causes: Cause[] = [];
  const name = obj.metadata.name ?? '';
  if (!name) causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else causes.push(...checkName('metadata.name', name, plural === 'namespaces' || plural === 'services' ? 'label' : 'subdomain'));
  causes.push(...checkLabels(obj.metadata.labels));
  if (plural === 'pods') causes.push(...checkPodSpec(asObj(obj.spec), 'spec'));
  if (plural === 'statefulsets') causes.push(...checkStatefulSet(obj));
  if (plural === 'secrets') causes.push(...checkConfigKeys(obj, ['data', 'stringData']));
  if (plural === 'configmaps') causes.push(...checkConfigKeys(obj, ['data', 'binaryData']));
  return causes;
}

/** Returns a 400 message for undecodable Secret data (bad base64), else undefined. */
export function decodeProblem(plural: string, obj: KubeObject): string | undefined {
  if (plural !== 'secrets') return undefined;
  for (const value of Object.values(asObj(obj.data) ?? {})) {
    if (typeof value !== 'string') return 'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal data values into []byte';
    const clean = value.replace(/=+$/, '');
    const bad = clean.search(/[^A-Za-z0-9+/]/);
    if (bad >= 0 || clean.length % 4 === 1) {
      const at = bad >= 0 ? bad : clean.length - 1;
      return `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`;
    }
  }
  return undefined;
}

// Known fields per type, for strict decoding. '' is a leaf (not checked further), 'T' a nested
// object of type T, '[T]' a list of T. Types not listed here accept any field.
const META = 'name generateName namespace selfLink uid resourceVersion generation creationTimestamp deletionTimestamp deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields';
const POD_SPEC =
  'ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC shareProcessNamespace imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources';
const CONTAINER =
  'name image command args workingDir resources resizePolicy restartPolicy volumeDevices livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy stdin stdinOnce tty';
const VOLUME_SOURCES =
  'name hostPath emptyDir gcePersistentDisk awsElasticBlockStore gitRepo nfs iscsi glusterfs persistentVolumeClaim rbd flexVolume cinder cephfs flocker downwardAPI fc azureFile vsphereVolume quobyte azureDisk photonPersistentDisk projected portworxVolume scaleIO storageos csi ephemeral image';

function leaves(names: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...Object.fromEntries(names.split(' ').map((n) => [n, ''])), ...extra };
}

const SCHEMA: Record<string, Record<string, string>> = {
  ObjectMeta: leaves(META),
  Pod: leaves('apiVersion kind status', { metadata: 'ObjectMeta', spec: 'PodSpec' }),
  PodSpec: leaves(POD_SPEC, { volumes: '[Volume]', initContainers: '[Container]', containers: '[Container]', securityContext: 'PodSecurityContext' }),
  Container: leaves(CONTAINER, { ports: '[ContainerPort]', env: '[EnvVar]', envFrom: '[EnvFromSource]', volumeMounts: '[VolumeMount]', securityContext: 'SecurityContext' }),
  ContainerPort: leaves('name hostPort containerPort protocol hostIP'),
  EnvVar: leaves('name value', { valueFrom: 'EnvVarSource' }),
  EnvVarSource: leaves('fieldRef resourceFieldRef', { configMapKeyRef: 'KeySelector', secretKeyRef: 'KeySelector' }),
  KeySelector: leaves('name key optional'),
  EnvFromSource: leaves('prefix', { configMapRef: 'LocalRef', secretRef: 'LocalRef' }),
  LocalRef: leaves('name optional'),
  VolumeMount: leaves('name readOnly recursiveReadOnly mountPath subPath mountPropagation subPathExpr'),
  Volume: leaves(VOLUME_SOURCES, { configMap: 'ConfigMapVolume', secret: 'SecretVolume' }),
  ConfigMapVolume: leaves('name items defaultMode optional'),
  SecretVolume: leaves('secretName items defaultMode optional'),
  Secret: leaves('apiVersion kind data stringData type immutable', { metadata: 'ObjectMeta' }),
  ConfigMap: leaves('apiVersion kind data binaryData immutable', { metadata: 'ObjectMeta' }),
  Namespace: leaves('apiVersion kind status', { metadata: 'ObjectMeta', spec: 'NamespaceSpec' }),
  NamespaceSpec: leaves('finalizers'),
  ServiceAccount: leaves('apiVersion kind secrets imagePullSecrets automountServiceAccountToken', { metadata: 'ObjectMeta' }),
  StatefulSet: leaves('apiVersion kind status', { metadata: 'ObjectMeta', spec: 'StatefulSetSpec' }),
  StatefulSetSpec: leaves('replicas selector serviceName podManagementPolicy updateStrategy revisionHistoryLimit minReadySeconds persistentVolumeClaimRetentionPolicy ordinals volumeClaimTemplates', { template: 'PodTemplateSpec' }),
  PodTemplateSpec: { metadata: 'ObjectMeta', spec: 'PodSpec' },
  SecurityContext: leaves('capabilities privileged seLinuxOptions windowsOptions runAsUser runAsGroup runAsNonRoot readOnlyRootFilesystem allowPrivilegeEscalation procMount seccompProfile appArmorProfile'),
  PodSecurityContext: leaves('seLinuxOptions windowsOptions runAsUser runAsGroup runAsNonRoot supplementalGroups supplementalGroupsPolicy fsGroup sysctls fsGroupChangePolicy seccompProfile appArmorProfile seLinuxChangePolicy'),
};

function walkUnknown(value: unknown, type: string, path: string, out: string[], prune: boolean): void {
  const fields = SCHEMA[type];
  if (!fields || !isObj(value)) return;
  for (const [key, child] of Object.entries(value)) {
    // Patch directives ($setElementOrder/…, $patch, $retainKeys) are not fields.
    if (key.startsWith('$')) continue;
    const childPath = path ? `${path}.${key}` : key;
    const childType = fields[key];
    if (childType === undefined) {
      out.push(childPath);
      if (prune) delete value[key];
    } else if (childType.startsWith('[')) {
      const itemType = childType.slice(1, -1);
      asArr(child).forEach((item, i) => walkUnknown(item, itemType, `${childPath}[${i}]`, out, prune));
    } else if (childType) {
      walkUnknown(child, childType, childPath, out, prune);
    }
  }
}

/** The dotted paths of fields the schema does not know (`spec.containers[0].imagee`). */
export function unknownFields(kind: string, body: unknown): string[] {
  const out: string[] = [];
  walkUnknown(body, kind, '', out, false);
  return out;
}

/** Drops unknown fields in place, as decoding into the typed object does on a real server. */
export function pruneUnknownFields(kind: string, body: unknown): void {
  walkUnknown(body, kind, '', [], true);
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Paths (dotted) where two JSON values differ, for the readable part of the 422 message. */
function differences(a: unknown, b: unknown, path: string, out: string[]): void {
  if (deepEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[key], b[key], `${path}.${key}`, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, i) => differences(item, b[i], `${path}[${i}]`, out));
    return;
  }
  out.push(`${path}: ${JSON.stringify(a) ?? '<unset>'} -> ${JSON.stringify(b) ?? '<unset>'}`);
}

/** Checks a pod update: only images, activeDeadlineSeconds, tolerations (additions) and the grace period may change. */
export function checkPodUpdate(oldPod: KubeObject, newPod: KubeObject): Cause[] {
  const oldSpec = asObj(oldPod.spec) ?? {};
  const newSpec = asObj(newPod.spec) ?? {};
  // Copy the mutable fields from the new spec onto the old one; anything still different is forbidden.
  const munged = clone(oldSpec);
  for (const list of ['containers', 'initContainers']) {
    const newList = asArr(newSpec[list]);
    asArr(munged[list]).forEach((c, i) => {
      const image = asObj(newList[i])?.image;
      if (isObj(c) && image !== undefined) c.image = image;
    });
  }
  munged.activeDeadlineSeconds = newSpec.activeDeadlineSeconds;
  munged.terminationGracePeriodSeconds = newSpec.terminationGracePeriodSeconds;
  const oldTolerations = asArr(oldSpec.tolerations);
  const newTolerations = asArr(newSpec.tolerations);
  const onlyAdded = oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t)));
  if (onlyAdded) munged.tolerations = newSpec.tolerations;
  if (deepEqual(munged, newSpec)) return [];
  const diff: string[] = [];
  differences(munged, newSpec, 'spec', diff);
  return [{ reason: 'FieldValueForbidden', field: 'spec', message: `Forbidden: ${POD_UPDATE_MSG}\n  ${diff.join('\n  ')}\n` }];
}

/** Checks an update of a Secret or ConfigMap marked `immutable: true`. */
export function checkImmutableData(oldObj: KubeObject, newObj: KubeObject): Cause[] {
  if (oldObj.immutable !== true) return [];
  const causes: Cause[] = [];
  if (newObj.immutable !== true) {
    causes.push({ reason: 'FieldValueForbidden', field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
  }
  for (const field of ['data', 'binaryData']) {
    if (!deepEqual(oldObj[field], newObj[field])) {
      causes.push({ reason: 'FieldValueForbidden', field, message: 'Forbidden: field is immutable when `immutable` is set' });
    }
  }
  return causes;
}
