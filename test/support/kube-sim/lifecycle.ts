/**
 * What the scheduler, kubelet and namespace controller would do: move pods through
 * Pending → scheduled → ContainerCreating → Running → Ready (or into the failure states a rule or a
 * missing dependency dictates), terminate deleted pods after their grace period, and empty then
 * remove terminating namespaces. Every delay is multiplied by `timeScale`.
 */
import { createHash } from 'node:crypto';
import { type FieldState } from './apply.ts';
import { type Faults, type PodBehavior } from './faults.ts';
import { isLatestImage, RESOURCES } from './resources.ts';
import { keyFor, type StoredRecord, type Store } from './store.ts';
import { asArr, asNum, asObj, asStr, clone, hex, isObj, timestamp, uid as newUid, type KubeObject, type Obj } from './util.ts';

/** Base delays in milliseconds, before scaling. */
const DELAYS = {
  schedule: 50,
  pull: 200,
  run: 500,
  sigterm: 200,
  pullBackoff: 1000,
  dependencyRetry: 500,
  crashBackoff: 10_000,
  crashBackoffMax: 300_000,
  namespaceCleanup: 100,
};

const NODE = 'kind-control-plane';
const NODE_IP = '172.18.0.2';

type ContainerStatus = Obj & { name: string; state: Obj; ready: boolean; started: boolean; restartCount: number };

/** The registry reference the kubelet reports for an image: `bm-agent:dev` → `docker.io/library/bm-agent:dev`. */
export function normalizeImage(image: string): string {
  let ref = image;
  if (!ref.includes('@') && isLatestImage(ref) && !ref.slice(ref.lastIndexOf('/') + 1).includes(':')) ref += ':latest';
  const first = ref.split('/')[0];
  const hasRegistry = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

function imageId(image: string): string {
  const ref = normalizeImage(image);
  const repo = ref.replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${createHash('sha256').update(ref).digest('hex')}`;
}

function condition(type: string, ok: boolean, reason?: string, message?: string): Obj {
  const c: Obj = { type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: timestamp() };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function containersOf(pod: KubeObject): Obj[] {
  return asArr(asObj(pod.spec)?.containers).filter(isObj);
}

function statusOf(pod: KubeObject): Obj {
  const status = asObj(pod.status) ?? {};
  pod.status = status;
  return status;
}

function containerStatuses(pod: KubeObject): ContainerStatus[] {
  return asArr(statusOf(pod).containerStatuses).filter(isObj) as ContainerStatus[];
}

/** Rewrites the pod's conditions from whether it is ready (or why it is not). */
function setConditions(pod: KubeObject, state: { ready: boolean; reason?: string; sandbox?: boolean }): void {
  const names = containersOf(pod).map((c) => String(c.name));
  const reason = state.ready ? undefined : (state.reason ?? 'ContainersNotReady');
  const message = reason === 'ContainersNotReady' ? `containers with unready status: [${names.join(' ')}]` : undefined;
  statusOf(pod).conditions = [
    condition('PodReadyToStartContainers', state.sandbox ?? true),
    condition('Initialized', true),
    condition('Ready', state.ready, reason, message),
    condition('ContainersReady', state.ready, reason, message),
    condition('PodScheduled', true),
  ];
}

/** Simulates the cluster's controllers and kubelet over the store. */
export class Lifecycle {
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** When each pod's containers last started (ms), by pod uid. */
  private startedAt = new Map<string, number>();
  /** When a crash-looping pod may restart (ms), by pod uid. */
  private backoffUntil = new Map<string, number>();
  private dependencyTries = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly faults: Faults,
    private readonly timeScale: number,
  ) {}

  private ms(base: number): number {
    return Math.max(0, Math.round(base * this.timeScale));
  }

  /** Starts reacting to store changes and resumes pods and namespaces already stored. */
  start(): void {
    this.unsubscribe = this.store.subscribe((event) => {
      const ns = event.obj.metadata.namespace;
      if (event.plural === 'pods' && event.type === 'ADDED') this.schedulePod(event.obj, this.ms(DELAYS.schedule));
      if (event.plural === 'pods' && event.type === 'MODIFIED') this.onPodModified(event.obj);
      if ((event.plural === 'secrets' || event.plural === 'configmaps') && event.type !== 'DELETED') this.retryWaiting(ns);
    });
    for (const record of this.store.list('pods')) {
      if (record.obj.metadata.deletionTimestamp) this.scheduleTermination(record.obj, this.ms(DELAYS.sigterm));
      else this.schedulePod(record.obj, 0);
    }
    for (const record of this.store.list('namespaces')) {
      if (record.obj.metadata.deletionTimestamp) this.scheduleNamespaceCleanup(record.obj.metadata.name ?? '');
    }
  }

  /** Cancels every timer (the process is shutting down or resetting). */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.startedAt.clear();
    this.backoffUntil.clear();
    this.dependencyTries.clear();
  }

  /** The behaviour a pod gets: annotation override, then rules, then image-tag conventions. */
  behaviorOf(pod: KubeObject): PodBehavior {
    const annotation = pod.metadata.annotations?.['kube-sim/behavior'];
    if (annotation) {
      try {
        return JSON.parse(annotation) as PodBehavior;
      } catch {
        // An unreadable override is ignored, like any unknown annotation.
      }
    }
    const rule = this.faults.ruleFor(pod);
    if (rule) return rule;
    const tags = containersOf(pod).map((c) => /:([^/:@]+)$/.exec(asStr(c.image) ?? '')?.[1]);
    if (tags.includes('crash')) return { kind: 'crash' };
    if (tags.includes('exit0')) return { kind: 'exit0' };
    return { kind: 'ok' };
  }

  private setTimer(key: string, ms: number, fn: () => void): void {
    const old = this.timers.get(key);
    if (old) clearTimeout(old);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        fn();
      }, ms),
    );
  }

  private podKey(pod: KubeObject): string {
    return keyFor('pods', pod.metadata.namespace, pod.metadata.name ?? '');
  }

  private schedulePod(pod: KubeObject, ms: number): void {
    const uid = pod.metadata.uid;
    this.setTimer(this.podKey(pod), ms, () => this.tick(pod.metadata.namespace, pod.metadata.name ?? '', uid));
  }

  /** Loads the current pod (same uid), lets `change` edit a copy, stores it if changed. */
  private withPod(namespace: string | undefined, name: string, uid: string | undefined, change: (pod: KubeObject, record: StoredRecord) => void): void {
    const record = this.store.get('pods', namespace, name);
    if (!record || record.obj.metadata.uid !== uid) return;
    const pod = clone(record.obj);
    change(pod, record);
    if (JSON.stringify(pod) !== JSON.stringify(record.obj)) this.store.put('pods', pod, record.fields);
  }

  private tick(namespace: string | undefined, name: string, uid: string | undefined): void {
    let next: number | undefined;
    this.withPod(namespace, name, uid, (pod) => {
      if (pod.metadata.deletionTimestamp) return;
      next = this.advance(pod);
    });
    const record = this.store.get('pods', namespace, name);
    if (next !== undefined && record) this.schedulePod(record.obj, next);
  }

  /** Moves a pod one step along its timeline; returns the delay until the next step, if any. */
  private advance(pod: KubeObject): number | undefined {
    const spec = asObj(pod.spec) ?? {};
    const status = statusOf(pod);
    const behavior = this.behaviorOf(pod);
    if (!spec.nodeName) {
      if (behavior.kind === 'unschedulable') {
        status.conditions = [
          condition('PodScheduled', false, 'Unschedulable', "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."),
        ];
        return this.ms(DELAYS.pullBackoff);
      }
      spec.nodeName = NODE;
      status.conditions = [condition('PodScheduled', true)];
      this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${NODE}`, 'default-scheduler');
      return this.ms(DELAYS.schedule);
    }
    if (!status.startTime) {
      const ip = `10.244.0.${(parseInt(pod.metadata.uid?.slice(0, 2) ?? '0', 16) % 250) + 2}`;
      Object.assign(status, { hostIP: NODE_IP, hostIPs: [{ ip: NODE_IP }], podIP: ip, podIPs: [{ ip }], startTime: timestamp() });
      setConditions(pod, { ready: false });
      status.containerStatuses = containersOf(pod).map((c) => ({
        name: c.name,
        image: asStr(c.image),
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      }));
      for (const c of containersOf(pod)) this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
      return this.ms(DELAYS.pull);
    }
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
    const statuses = containerStatuses(pod);
    if (statuses.some((cs) => asObj(cs.state)?.waiting)) return this.startContainers(pod, statuses, behavior);
    return this.whileRunning(pod, statuses, behavior);
  }

  private readyDelay(pod: KubeObject, behavior: PodBehavior): number {
    if (behavior.readyMs !== undefined) return this.ms(behavior.readyMs);
    const delays = containersOf(pod).map((c) => asNum(asObj(c.readinessProbe)?.initialDelaySeconds) ?? 0);
    return this.ms(Math.max(0, ...delays) * 1000);
  }

  /** Why the containers cannot start yet, checked in kubelet order: image, config, volumes. */
  private startProblem(pod: KubeObject, behavior: PodBehavior): { reason: string; message?: string } | undefined {
    const containers = containersOf(pod);
    const loaded = this.faults.loadedImages;
    const unpullable = containers.find(
      (c) => behavior.kind === 'imagepull' || (loaded !== undefined && (c.imagePullPolicy === 'Always' || !loaded.includes(String(c.image)))),
    );
    if (unpullable) {
      const ref = normalizeImage(String(unpullable.image));
      return {
        reason: 'ErrImagePull',
        message: `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
      };
    }
    if (behavior.kind === 'config-error') return { reason: 'CreateContainerConfigError', message: behavior.message ?? 'secret "botminter-credentials" not found' };
    const ns = pod.metadata.namespace;
    for (const c of containers) {
      for (const envFrom of asArr(c.envFrom).filter(isObj)) {
        for (const [field, plural, label] of [['secretRef', 'secrets', 'secret'], ['configMapRef', 'configmaps', 'configmap']] as const) {
          const ref = asObj(envFrom[field]);
          if (ref && ref.optional !== true && !this.store.get(plural, ns, String(ref.name))) {
            return { reason: 'CreateContainerConfigError', message: `${label} "${String(ref.name)}" not found` };
          }
        }
      }
      for (const env of asArr(c.env).filter(isObj)) {
        const from = asObj(env.valueFrom) ?? {};
        for (const [field, plural, label, kind] of [['secretKeyRef', 'secrets', 'secret', 'Secret'], ['configMapKeyRef', 'configmaps', 'configmap', 'ConfigMap']] as const) {
          const ref = asObj(from[field]);
          if (!ref || ref.optional === true) continue;
          const target = this.store.get(plural, ns, String(ref.name));
          if (!target) return { reason: 'CreateContainerConfigError', message: `${label} "${String(ref.name)}" not found` };
          const data = { ...asObj(target.obj.data), ...asObj(target.obj.binaryData) };
          if (!(String(ref.key) in data)) {
            return { reason: 'CreateContainerConfigError', message: `couldn't find key ${String(ref.key)} in ${kind} ${ns}/${String(ref.name)}` };
          }
        }
      }
    }
    for (const volume of asArr(asObj(pod.spec)?.volumes).filter(isObj)) {
      const cm = asObj(volume.configMap);
      const secret = asObj(volume.secret);
      if (cm && cm.optional !== true && !this.store.get('configmaps', ns, String(cm.name))) return { reason: 'ContainerCreating' };
      if (secret && secret.optional !== true && !this.store.get('secrets', ns, String(secret.secretName))) return { reason: 'ContainerCreating' };
    }
    return undefined;
  }

  private startContainers(pod: KubeObject, statuses: ContainerStatus[], behavior: PodBehavior): number | undefined {
    const uid = pod.metadata.uid ?? '';
    const waitingReason = asStr(asObj(asObj(statuses[0]?.state)?.waiting)?.reason);
    const now = Date.now();
    if (waitingReason === 'CrashLoopBackOff') {
      const until = this.backoffUntil.get(uid) ?? 0;
      if (until > now) return until - now;
    } else {
      const problem = this.startProblem(pod, behavior);
      if (problem) {
        let reason = problem.reason;
        let message = problem.message;
        let delay = this.ms(DELAYS.dependencyRetry);
        if (reason === 'ErrImagePull') {
          delay = this.ms(DELAYS.pullBackoff);
          if (waitingReason === 'ErrImagePull') {
            reason = 'ImagePullBackOff';
            message = `Back-off pulling image "${String(containersOf(pod)[0]?.image)}"`;
          }
        }
        for (const cs of statuses) cs.state = { waiting: message ? { reason, message } : { reason } };
        if (reason !== 'ContainerCreating' && waitingReason !== reason) {
          this.event(pod, 'Warning', reason === 'ImagePullBackOff' ? 'BackOff' : 'Failed', message ?? reason);
        }
        const tries = (this.dependencyTries.get(uid) ?? 0) + 1;
        this.dependencyTries.set(uid, tries);
        return Math.min(delay * 2 ** Math.min(tries - 1, 3), Math.max(delay, this.ms(4000)));
      }
    }
    this.dependencyTries.delete(uid);
    const images = new Map(containersOf(pod).map((c) => [String(c.name), String(c.image)]));
    for (const cs of statuses) {
      const image = images.get(cs.name) ?? String(cs.image);
      Object.assign(cs, {
        image: normalizeImage(image),
        imageID: imageId(image),
        containerID: `containerd://${hex(32)}`,
        started: true,
        ready: false,
        state: { running: { startedAt: timestamp(now) } },
      });
      this.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      this.event(pod, 'Normal', 'Created', `Created container ${cs.name}`);
      this.event(pod, 'Normal', 'Started', `Started container ${cs.name}`);
    }
    statusOf(pod).phase = 'Running';
    setConditions(pod, { ready: false });
    this.startedAt.set(uid, now);
    return this.whileRunning(pod, statuses, behavior);
  }

  private whileRunning(pod: KubeObject, statuses: ContainerStatus[], behavior: PodBehavior): number | undefined {
    const elapsed = Date.now() - (this.startedAt.get(pod.metadata.uid ?? '') ?? Date.now());
    const waits: number[] = [];
    const exits = behavior.kind === 'crash' || behavior.kind === 'exit0';
    if (exits) {
      const runMs = this.ms(behavior.runMs ?? DELAYS.run);
      if (elapsed >= runMs) return this.containerExited(pod, behavior.kind === 'exit0' ? 0 : (behavior.exitCode ?? 1));
      waits.push(runMs - elapsed);
    }
    const alreadyReady = statuses.every((cs) => cs.ready);
    if (!alreadyReady && behavior.kind !== 'never-ready') {
      const readyMs = this.readyDelay(pod, behavior);
      if (elapsed >= readyMs) {
        for (const cs of statuses) cs.ready = true;
        setConditions(pod, { ready: true });
      } else {
        waits.push(readyMs - elapsed);
      }
    }
    return waits.length ? Math.min(...waits) : undefined;
  }

  /** The containers exited with `exitCode`: restart with backoff, or finish the pod. */
  private containerExited(pod: KubeObject, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): number | undefined {
    const spec = asObj(pod.spec) ?? {};
    const status = statusOf(pod);
    const policy = asStr(spec.restartPolicy) ?? 'Always';
    const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    const now = timestamp();
    for (const cs of containerStatuses(pod)) {
      const terminated = {
        exitCode,
        reason,
        startedAt: asStr(asObj(asObj(cs.state)?.running)?.startedAt) ?? now,
        finishedAt: now,
        containerID: cs.containerID,
      };
      cs.ready = false;
      cs.started = false;
      if (restart) {
        cs.lastState = { terminated };
        cs.restartCount += 1;
        const backoff = Math.min(DELAYS.crashBackoff * 2 ** (cs.restartCount - 1), DELAYS.crashBackoffMax);
        cs.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${cs.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        };
        this.backoffUntil.set(pod.metadata.uid ?? '', Date.now() + this.ms(backoff));
      } else {
        cs.state = { terminated };
      }
    }
    if (restart) {
      setConditions(pod, { ready: false });
      this.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
      return (this.backoffUntil.get(pod.metadata.uid ?? '') ?? 0) - Date.now();
    }
    status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    setConditions(pod, { ready: false, reason: exitCode === 0 ? 'PodCompleted' : 'PodFailed', sandbox: false });
    return undefined;
  }

  /** A spec change from the API: a new image restarts the container in place. */
  private onPodModified(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) return;
    const statuses = containerStatuses(pod);
    const changed = containersOf(pod).some((c) => {
      const cs = statuses.find((s) => s.name === c.name);
      return cs !== undefined && normalizeImage(String(cs.image)) !== normalizeImage(String(c.image));
    });
    if (!changed) return;
    this.withPod(pod.metadata.namespace, pod.metadata.name ?? '', pod.metadata.uid, (current) => {
      for (const cs of containerStatuses(current)) {
        const c = containersOf(current).find((x) => x.name === cs.name);
        if (!c || normalizeImage(String(cs.image)) === normalizeImage(String(c.image))) continue;
        const running = asObj(asObj(cs.state)?.running);
        if (running) {
          cs.lastState = { terminated: { exitCode: 0, reason: 'Completed', startedAt: running.startedAt, finishedAt: timestamp(), containerID: cs.containerID } };
          cs.restartCount += 1;
          this.event(current, 'Normal', 'Killing', `Container ${cs.name} definition changed, will be restarted`);
        }
        Object.assign(cs, { image: c.image, imageID: '', ready: false, started: false, state: { waiting: { reason: 'ContainerCreating' } } });
        delete cs.containerID;
      }
      setConditions(current, { ready: false });
    });
    const record = this.store.get('pods', pod.metadata.namespace, pod.metadata.name ?? '');
    if (record) this.schedulePod(record.obj, this.ms(DELAYS.pull));
  }

  /** Re-checks pods in a namespace that wait for a Secret or ConfigMap that may now exist. */
  private retryWaiting(namespace: string | undefined): void {
    for (const record of this.store.list('pods', namespace)) {
      const waiting = containerStatuses(record.obj).some((cs) => {
        const reason = asStr(asObj(asObj(cs.state)?.waiting)?.reason);
        return reason === 'CreateContainerConfigError' || reason === 'ContainerCreating';
      });
      if (waiting && !record.obj.metadata.deletionTimestamp && asObj(record.obj.status)?.startTime) this.schedulePod(record.obj, 0);
    }
  }

  /** Test hook: the pod's containers exit now with `exitCode` ("a healthy pod later dies"). */
  killContainers(namespace: string, name: string, exitCode: number): boolean {
    const record = this.store.get('pods', namespace, name);
    if (!record) return false;
    let next: number | undefined;
    this.withPod(namespace, name, record.obj.metadata.uid, (pod) => {
      if (containerStatuses(pod).some((cs) => asObj(cs.state)?.running)) next = this.containerExited(pod, exitCode);
    });
    const after = this.store.get('pods', namespace, name);
    if (next !== undefined && after) this.schedulePod(after.obj, next);
    return true;
  }

  /**
   * Deletes a pod the way the API server does: at once if it never reached a node or the grace
   * period is 0, otherwise it is marked with deletionTimestamp and removed once its containers stop.
   */
  deletePod(record: StoredRecord, graceSeconds: number | undefined): KubeObject {
    const pod = clone(record.obj);
    const spec = asObj(pod.spec) ?? {};
    const grace = graceSeconds ?? asNum(pod.metadata.deletionGracePeriodSeconds) ?? asNum(spec.terminationGracePeriodSeconds) ?? 30;
    if (!spec.nodeName || grace === 0) {
      this.clearPod(pod);
      return this.store.remove('pods', pod.metadata.namespace, pod.metadata.name ?? '') ?? pod;
    }
    if (pod.metadata.deletionTimestamp && grace >= (pod.metadata.deletionGracePeriodSeconds ?? Infinity)) return pod;
    pod.metadata.deletionTimestamp = timestamp(Date.now() + grace * 1000);
    pod.metadata.deletionGracePeriodSeconds = grace;
    const stored = this.store.put('pods', pod, record.fields);
    for (const c of containersOf(pod)) this.event(pod, 'Normal', 'Killing', `Stopping container ${String(c.name)}`);
    const running = containerStatuses(pod).some((cs) => asObj(cs.state)?.running);
    const stopMs = !running ? DELAYS.schedule : this.behaviorOf(pod).ignoreSigterm ? grace * 1000 : DELAYS.sigterm;
    this.scheduleTermination(stored, this.ms(stopMs));
    return stored;
  }

  private scheduleTermination(pod: KubeObject, ms: number): void {
    const { namespace, name = '', uid } = pod.metadata;
    this.setTimer(this.podKey(pod), ms, () => {
      const ignoredTerm = this.behaviorOf(pod).ignoreSigterm === true;
      this.withPod(namespace, name, uid, (current) => {
        for (const cs of containerStatuses(current)) {
          const running = asObj(asObj(cs.state)?.running);
          if (!running) continue;
          const exitCode = ignoredTerm ? 137 : 0;
          cs.state = { terminated: { exitCode, reason: ignoredTerm ? 'Error' : 'Completed', startedAt: running.startedAt, finishedAt: timestamp(), containerID: cs.containerID } };
          cs.ready = false;
          cs.started = false;
        }
        setConditions(current, { ready: false, reason: 'PodCompleted', sandbox: false });
      });
      const record = this.store.get('pods', namespace, name);
      if (record && record.obj.metadata.uid === uid) {
        this.clearPod(record.obj);
        this.store.remove('pods', namespace, name);
      }
    });
  }

  private clearPod(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    this.startedAt.delete(uid);
    this.backoffUntil.delete(uid);
    this.dependencyTries.delete(uid);
  }

  /** Marks a namespace Terminating, then deletes its contents and finally the namespace. */
  deleteNamespace(record: StoredRecord): KubeObject {
    if (record.obj.metadata.deletionTimestamp) return clone(record.obj);
    const ns = clone(record.obj);
    ns.metadata.deletionTimestamp = timestamp();
    ns.metadata.deletionGracePeriodSeconds = 0;
    ns.status = { ...asObj(ns.status), phase: 'Terminating' };
    const stored = this.store.put('namespaces', ns, record.fields);
    this.scheduleNamespaceCleanup(ns.metadata.name ?? '');
    return stored;
  }

  private scheduleNamespaceCleanup(name: string): void {
    this.setTimer(`namespaces//${name}`, this.ms(DELAYS.namespaceCleanup), () => {
      for (const def of Object.values(RESOURCES)) {
        if (!def.namespaced) continue;
        for (const record of this.store.list(def.plural, name)) {
          if (def.plural === 'pods') {
            if (!record.obj.metadata.deletionTimestamp) this.deletePod(record, undefined);
          } else {
            this.store.remove(def.plural, name, record.obj.metadata.name ?? '');
          }
        }
      }
      if (this.store.list('pods', name).length > 0) {
        this.scheduleNamespaceCleanup(name);
        return;
      }
      this.store.remove('namespaces', undefined, name);
    });
  }

  /** Schedules the namespace's `default` ServiceAccount, which real clusters create a moment later. */
  createDefaultServiceAccount(namespace: string, fields: FieldState): void {
    const create = (): void => {
      const ns = this.store.get('namespaces', undefined, namespace);
      if (!ns || ns.obj.metadata.deletionTimestamp || this.store.get('serviceaccounts', namespace, 'default')) return;
      this.store.put('serviceaccounts', { metadata: { name: 'default', namespace, uid: newUid(), creationTimestamp: timestamp() } }, fields);
    };
    const delay = this.ms(this.faults.saDelayMs);
    if (delay === 0) create();
    else this.setTimer(`serviceaccounts/${namespace}/default`, delay, create);
  }

  /** Records an Event about `pod` (or, from a controller, about its object). */
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component = 'kubelet'): void {
    const namespace = pod.metadata.namespace;
    const ns = this.store.get('namespaces', undefined, namespace ?? '');
    if (!ns || ns.obj.metadata.deletionTimestamp) return;
    const now = timestamp();
    this.store.put(
      'events',
      {
        metadata: { name: `${pod.metadata.name}.${hex(8)}`, namespace, uid: newUid(), creationTimestamp: now },
        involvedObject: { kind: pod.kind ?? 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: pod.apiVersion ?? 'v1' },
        reason,
        message,
        source: component === 'kubelet' ? { component, host: NODE } : { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? NODE : '',
      },
      { owners: {}, applied: {} },
    );
  }
}
