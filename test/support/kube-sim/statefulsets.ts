/**
 * The StatefulSet controller (and, for its pods, the garbage collector), as kube-controller-manager
 * runs them: pods `<name>-<ordinal>` made from the template with the revision label and an owner
 * reference; with the default OrderedReady policy one at a time, each waiting for the previous
 * one to be Running and Ready; failed pods deleted and made again; a RollingUpdate that deletes
 * the highest pod on an old revision only while every pod is Ready (so a broken rollout stalls
 * until someone deletes the broken pod, as on a real cluster); the status the clients read; and
 * the pods of a deleted StatefulSet deleted in the background.
 */
import { createHash } from 'node:crypto';
import type { Lifecycle } from './lifecycle.ts';
import { ApiError } from './status.ts';
import type { Store } from './store.ts';
import { asArr, asNum, asObj, asStr, clone, deepEqual, isObj, type KubeObject, type Obj } from './util.ts';

const REVISION_LABEL = 'controller-revision-hash';
/** How long a failed pod creation waits before the next try, before scaling. */
const RETRY_MS = 1000;

function isRunningAndReady(pod: KubeObject): boolean {
  const status = asObj(pod.status) ?? {};
  return status.phase === 'Running' && asArr(status.conditions).some((c) => asObj(c)?.type === 'Ready' && asObj(c)?.status === 'True');
}

/** The StatefulSet that controls `pod`, from its owner references. */
export function controllerOf(pod: KubeObject): { name: string; uid: string } | undefined {
  const ref = asArr(pod.metadata.ownerReferences).filter(isObj).find((r) => r.kind === 'StatefulSet' && r.controller === true);
  return ref ? { name: String(ref.name), uid: String(ref.uid) } : undefined;
}

/** Reconciles every StatefulSet with its pods. */
export class StatefulSetController {
  /** Creates a pod through the API's admission (validation, defaults, ServiceAccount, Pod Security); throws ApiError. */
  createPod: (pod: KubeObject) => void = () => undefined;
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: Lifecycle,
    private readonly timeScale: number,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe((event) => {
      const ns = event.obj.metadata.namespace;
      if (event.plural === 'statefulsets') {
        if (event.type === 'DELETED') this.collect(event.obj);
        else this.schedule(ns, event.obj.metadata.name ?? '', 0);
      } else if (event.plural === 'pods') {
        const owner = controllerOf(event.obj);
        if (owner) this.schedule(ns, owner.name, 0);
      }
    });
    for (const record of this.store.list('statefulsets')) this.schedule(record.obj.metadata.namespace, record.obj.metadata.name ?? '', 0);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(namespace: string | undefined, name: string, ms: number): void {
    const key = `${namespace}/${name}`;
    if (ms === 0 && this.timers.has(key)) return;
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.reconcile(namespace, name);
    }, ms));
  }

  /** The garbage collector's part: the pods a deleted StatefulSet owned go too (background cascade). */
  private collect(sts: KubeObject): void {
    for (const record of this.store.list('pods', sts.metadata.namespace)) {
      if (controllerOf(record.obj)?.uid === sts.metadata.uid && !record.obj.metadata.deletionTimestamp) this.lifecycle.deletePod(record, undefined);
    }
  }

  private podFor(sts: KubeObject, template: Obj, revision: string, ordinal: number): KubeObject {
    const name = `${sts.metadata.name}-${ordinal}`;
    const meta = asObj(template.metadata) ?? {};
    const spec = clone(asObj(template.spec) ?? {});
    spec.hostname = name;
    const serviceName = asStr(asObj(sts.spec)?.serviceName);
    if (serviceName) spec.subdomain = serviceName;
    return {
      metadata: {
        name,
        namespace: sts.metadata.namespace,
        labels: { ...(asObj(meta.labels) as Record<string, string> | undefined), [REVISION_LABEL]: revision, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ordinal) },
        ...(meta.annotations ? { annotations: clone(meta.annotations) as Record<string, string> } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  }

  private reconcile(namespace: string | undefined, name: string): void {
    const record = this.store.get('statefulsets', namespace, name);
    if (!record || record.obj.metadata.deletionTimestamp) return;
    const sts = record.obj;
    const spec = asObj(sts.spec) ?? {};
    const template = asObj(spec.template) ?? {};
    const replicas = asNum(spec.replicas) ?? 1;
    const revision = `${name}-${createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10)}`;
    const monotonic = spec.podManagementPolicy !== 'Parallel';
    const owned = new Map(this.store.list('pods', namespace).filter((r) => controllerOf(r.obj)?.uid === sts.metadata.uid).map((r) => [r.obj.metadata.name ?? '', r]));
    let blocked = false;
    for (let ordinal = 0; ordinal < replicas && !blocked; ordinal++) {
      const pod = owned.get(`${name}-${ordinal}`);
      if (!pod) {
        try {
          this.createPod(this.podFor(sts, template, revision, ordinal));
          this.lifecycle.event(sts, 'Normal', 'SuccessfulCreate', `create Pod ${name}-${ordinal} in StatefulSet ${name} successful`, 'statefulset-controller');
        } catch (error) {
          const message = error instanceof ApiError ? error.message : String(error);
          this.lifecycle.event(sts, 'Warning', 'FailedCreate', `create Pod ${name}-${ordinal} in StatefulSet ${name} failed error: ${message}`, 'statefulset-controller');
          this.schedule(namespace, name, Math.round(RETRY_MS * this.timeScale));
        }
        blocked = monotonic;
        continue;
      }
      const phase = asObj(pod.obj.status)?.phase;
      if (!pod.obj.metadata.deletionTimestamp && (phase === 'Failed' || phase === 'Succeeded')) {
        this.lifecycle.event(sts, 'Warning', 'RecreatingFailedPod', `StatefulSet ${namespace}/${name} is recreating failed Pod ${pod.obj.metadata.name}`, 'statefulset-controller');
        this.lifecycle.deletePod(pod, 0);
        blocked = true;
        continue;
      }
      if (pod.obj.metadata.deletionTimestamp || !isRunningAndReady(pod.obj)) blocked = monotonic || Boolean(pod.obj.metadata.deletionTimestamp);
    }
    for (const [podName, pod] of owned) {
      const ordinal = Number(podName.slice(name.length + 1));
      if (ordinal >= replicas && !pod.obj.metadata.deletionTimestamp) this.lifecycle.deletePod(pod, undefined);
    }
    const strategy = asObj(spec.updateStrategy) ?? {};
    if (!blocked && strategy.type !== 'OnDelete') {
      const partition = asNum(asObj(strategy.rollingUpdate)?.partition) ?? 0;
      const outdated = [...owned.values()]
        .filter((p) => p.obj.metadata.labels?.[REVISION_LABEL] !== revision && !p.obj.metadata.deletionTimestamp)
        .map((p) => ({ p, ordinal: Number((p.obj.metadata.name ?? '').slice(name.length + 1)) }))
        .filter((x) => x.ordinal < replicas && x.ordinal >= partition)
        .sort((a, b) => b.ordinal - a.ordinal)[0];
      if (outdated) this.lifecycle.deletePod(outdated.p, undefined);
    }
    this.writeStatus(namespace, name, revision);
  }

  private writeStatus(namespace: string | undefined, name: string, revision: string): void {
    const record = this.store.get('statefulsets', namespace, name);
    if (!record) return;
    const sts = record.obj;
    const replicas = asNum(asObj(sts.spec)?.replicas) ?? 1;
    const pods = this.store.list('pods', namespace).filter((r) => controllerOf(r.obj)?.uid === sts.metadata.uid && !r.obj.metadata.deletionTimestamp).map((r) => r.obj);
    const ready = pods.filter(isRunningAndReady).length;
    const updated = pods.filter((p) => p.metadata.labels?.[REVISION_LABEL] === revision).length;
    const previous = asObj(sts.status) ?? {};
    const done = updated === replicas && ready === replicas;
    const currentRevision = done ? revision : (asStr(previous.currentRevision) ?? revision);
    const status: Obj = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: pods.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
      availableReplicas: ready,
    };
    if (deepEqual(status, previous)) return;
    this.store.put('statefulsets', { ...clone(sts), status }, record.fields);
  }
}
