/**
 * Pod Security admission, "restricted" level (which includes "baseline"): the checks a real
 * API server makes on a pod in a namespace labelled `pod-security.kubernetes.io/enforce:
 * restricted`, with its messages. A pod that breaks them is refused with 403; a workload whose
 * template would is accepted with a warning (and its controller cannot make pods).
 */
import { asArr, asObj, asStr, isObj, type Obj } from './util.ts';

/** Volume types the restricted level allows. */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
/** Capabilities the baseline level allows adding. */
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
const plural = (names: string[], one: string, many: string) => (names.length === 1 ? one : many);

/** The level a namespace enforces, from its labels. */
export function enforcedLevel(namespace: Obj | undefined): string | undefined {
  const labels = asObj(asObj(namespace?.metadata)?.labels);
  return asStr(labels?.['pod-security.kubernetes.io/enforce']);
}

/** The "restricted" violations of a pod spec, each as the API server words it; empty when it passes. */
export function restrictedViolations(spec: Obj): string[] {
  const out: string[] = [];
  const pod = asObj(spec.securityContext) ?? {};
  const containers = [...asArr(spec.initContainers), ...asArr(spec.containers), ...asArr(spec.ephemeralContainers)].filter(isObj);
  const name = (c: Obj) => String(c.name);
  const sc = (c: Obj) => asObj(c.securityContext) ?? {};
  const containerWord = (names: string[]) => `${plural(names, 'container', 'containers')} ${quoted(names)}`;

  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[field] === true) out.push(`host namespaces (${field}=true)`);
  const privileged = containers.filter((c) => sc(c).privileged === true).map(name);
  if (privileged.length) out.push(`privileged (${containerWord(privileged)} must not set securityContext.privileged=true)`);
  const hostPorts = containers.filter((c) => asArr(c.ports).some((p) => Number(asObj(p)?.hostPort ?? 0) > 0)).map(name);
  if (hostPorts.length) out.push(`hostPort (${containerWord(hostPorts)} uses hostPorts)`);
  const volumes = asArr(spec.volumes).filter(isObj);
  const hostPath = volumes.filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
  if (hostPath.length) out.push(`hostPath volumes (${plural(hostPath, 'volume', 'volumes')} ${quoted(hostPath)})`);
  const added = containers.filter((c) => asArr(asObj(sc(c).capabilities)?.add).some((cap) => !BASELINE_CAPABILITIES.has(String(cap)))).map(name);
  if (added.length) out.push(`non-default capabilities (${containerWord(added)} must not include them in securityContext.capabilities.add)`);

  const otherVolumes = volumes.filter((v) => !Object.keys(v).some((k) => RESTRICTED_VOLUMES.has(k)) && v.hostPath === undefined).map((v) => String(v.name));
  if (otherVolumes.length) out.push(`restricted volume types (${plural(otherVolumes, 'volume', 'volumes')} ${quoted(otherVolumes)} use a restricted volume type)`);
  const escalation = containers.filter((c) => sc(c).allowPrivilegeEscalation !== false).map(name);
  if (escalation.length) out.push(`allowPrivilegeEscalation != false (${containerWord(escalation)} must set securityContext.allowPrivilegeEscalation=false)`);
  const capabilities = containers.filter((c) => {
    const caps = asObj(sc(c).capabilities) ?? {};
    return !asArr(caps.drop).includes('ALL') || asArr(caps.add).some((cap) => cap !== 'NET_BIND_SERVICE');
  }).map(name);
  if (capabilities.length) out.push(`unrestricted capabilities (${containerWord(capabilities)} must set securityContext.capabilities.drop=["ALL"])`);
  const nonRoot = containers.filter((c) => sc(c).runAsNonRoot === false || (sc(c).runAsNonRoot !== true && pod.runAsNonRoot !== true)).map(name);
  if (nonRoot.length) out.push(`runAsNonRoot != true (pod or ${containerWord(nonRoot)} must set securityContext.runAsNonRoot=true)`);
  const root = containers.filter((c) => sc(c).runAsUser === 0).map(name);
  if (pod.runAsUser === 0 || root.length) out.push(`runAsUser=0 (${pod.runAsUser === 0 ? 'pod' : containerWord(root)} must not set runAsUser=0)`);
  const seccompOk = (profile: unknown) => ['RuntimeDefault', 'Localhost'].includes(String(asObj(profile)?.type));
  const seccomp = containers.filter((c) => {
    const own = asObj(sc(c).seccompProfile);
    return own ? !seccompOk(own) : !seccompOk(pod.seccompProfile);
  }).map(name);
  if (seccomp.length) out.push(`seccompProfile (pod or ${containerWord(seccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`);
  return out;
}

/** The message of a refused pod (or of the warning on a workload), as `kube-apiserver` writes it. */
export function violationMessage(violations: string[]): string {
  return `violates PodSecurity "restricted:latest": ${violations.join(', ')}`;
}
