/**
 * Fault injection state: transport faults applied to incoming API requests, and the rules that
 * choose how a pod behaves (image pull failure, slow readiness, crash, ...).
 */
import { parseLabelSelector } from './selectors.ts';
import { asObj, asStr, type KubeObject } from './util.ts';

/** How a pod's containers behave once the pod is scheduled. */
export interface PodBehavior {
  /**
   * ok: runs and becomes Ready (after `readyMs`); never-ready: runs, never Ready; crash: exits
   * with `exitCode` (default 1) after `runMs`; exit0: exits 0 after `runMs`; imagepull: the image
   * cannot be pulled; config-error: CreateContainerConfigError with `message`; unschedulable.
   */
  kind?: 'ok' | 'never-ready' | 'crash' | 'exit0' | 'imagepull' | 'config-error' | 'unschedulable';
  readyMs?: number;
  runMs?: number;
  exitCode?: number;
  message?: string;
  /** The process ignores SIGTERM, so deletion takes the whole grace period. */
  ignoreSigterm?: boolean;
}

/** Which pods a rule applies to; strings are regular expressions matched against the whole value. */
export interface PodMatch {
  image?: string;
  name?: string;
  namespace?: string;
  /** A label selector, e.g. `app=botminter,member=dev-1`. */
  labels?: string;
}

/** Request filter shared by the transport faults: method and a regex over path+query. */
interface RequestMatch {
  method?: string;
  path?: string;
}

/** A fault to inject, posted as JSON to the control port's `POST /faults`. */
export type Fault =
  | { kind: 'refuse'; forMs?: number }
  | ({ kind: 'hang'; forMs?: number } & RequestMatch)
  | ({ kind: 'reset'; times?: number } & RequestMatch)
  | ({ kind: 'error'; status?: number; reason?: string; message?: string; times?: number; rate?: number; retryAfter?: number } & RequestMatch)
  | ({ kind: 'latency'; ms: number } & RequestMatch)
  | { kind: 'crash'; exitCode?: number }
  | { kind: 'image-pull'; image: string }
  | ({ kind: 'config-error'; message?: string } & PodMatch)
  | ({ kind: 'slow-ready'; readyMs: number } & PodMatch)
  | { kind: 'pod'; match: PodMatch; behavior: PodBehavior }
  | { kind: 'loaded-images'; images: string[] }
  | { kind: 'sa-delay'; ms: number };

/** What the transport layer should do with one request. */
export type TransportAction =
  | { type: 'pass'; delayMs: number }
  | { type: 'hang' }
  | { type: 'reset' }
  | { type: 'error'; status: number; reason: string; message: string; retryAfter?: number };

interface Counted {
  remaining: number;
}

function fullMatch(pattern: string | undefined, value: string): boolean {
  return pattern === undefined || new RegExp(`^(?:${pattern})$`).test(value);
}

function requestMatches(rule: RequestMatch, method: string, url: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  return rule.path === undefined || new RegExp(rule.path).test(url);
}

/** True when the rule's pod match selects `pod`. */
export function podMatches(match: PodMatch, pod: KubeObject): boolean {
  const images = ((asObj(pod.spec)?.containers as unknown[] | undefined) ?? []).map((c) => asStr(asObj(c)?.image) ?? '');
  if (match.image !== undefined && !images.some((image) => fullMatch(match.image, image))) return false;
  if (!fullMatch(match.name, pod.metadata.name ?? '')) return false;
  if (!fullMatch(match.namespace, pod.metadata.namespace ?? '')) return false;
  return match.labels === undefined || parseLabelSelector(match.labels).matches(pod.metadata.labels);
}

/** The live fault configuration of one simulator process. */
export class Faults {
  refusing = false;
  hangs: (RequestMatch & { kind: 'hang' })[] = [];
  resets: (RequestMatch & Counted)[] = [];
  errors: (Extract<Fault, { kind: 'error' }> & Counted)[] = [];
  latencies: Extract<Fault, { kind: 'latency' }>[] = [];
  podRules: { match: PodMatch; behavior: PodBehavior }[] = [];
  loadedImages: string[] | undefined;
  saDelayMs = 0;

  /** Records a fault. refuse and crash are acted on by the server; this only keeps state. */
  add(fault: Fault): void {
    switch (fault.kind) {
      case 'refuse':
        this.refusing = true;
        break;
      case 'hang':
        this.hangs.push(fault);
        break;
      case 'reset':
        this.resets.push({ ...fault, remaining: fault.times ?? Infinity });
        break;
      case 'error':
        this.errors.push({ ...fault, remaining: fault.times ?? Infinity });
        break;
      case 'latency':
        this.latencies.push(fault);
        break;
      case 'image-pull':
        this.podRules.push({ match: { image: fault.image }, behavior: { kind: 'imagepull' } });
        break;
      case 'config-error': {
        const { kind: _kind, message, ...match } = fault;
        this.podRules.push({ match, behavior: { kind: 'config-error', message } });
        break;
      }
      case 'slow-ready': {
        const { kind: _kind, readyMs, ...match } = fault;
        this.podRules.push({ match, behavior: { kind: 'ok', readyMs } });
        break;
      }
      case 'pod':
        this.podRules.push({ match: fault.match, behavior: fault.behavior });
        break;
      case 'loaded-images':
        this.loadedImages = [...fault.images];
        break;
      case 'sa-delay':
        this.saDelayMs = fault.ms;
        break;
      case 'crash':
        break;
    }
  }

  /** Removes every fault and rule. */
  clear(): void {
    this.refusing = false;
    this.hangs = [];
    this.resets = [];
    this.errors = [];
    this.latencies = [];
    this.podRules = [];
    this.loadedImages = undefined;
    this.saDelayMs = 0;
  }

  /** Decides what happens to a request; counted faults are used up here. */
  transport(method: string, url: string): TransportAction {
    if (this.hangs.some((h) => requestMatches(h, method, url))) return { type: 'hang' };
    const reset = this.resets.find((r) => r.remaining > 0 && requestMatches(r, method, url));
    if (reset) {
      reset.remaining--;
      return { type: 'reset' };
    }
    const error = this.errors.find((e) => e.remaining > 0 && requestMatches(e, method, url) && Math.random() < (e.rate ?? 1));
    if (error) {
      error.remaining--;
      const status = error.status ?? 500;
      return {
        type: 'error',
        status,
        reason: error.reason ?? (status === 429 ? 'TooManyRequests' : status === 403 ? 'Forbidden' : status === 409 ? 'Conflict' : 'InternalError'),
        message: error.message ?? (status === 429 ? 'the server has received too many requests and has asked us to try again later' : 'etcdserver: request timed out'),
        retryAfter: error.retryAfter ?? (status === 429 ? 1 : undefined),
      };
    }
    const delayMs = this.latencies.filter((l) => requestMatches(l, method, url)).reduce((sum, l) => sum + l.ms, 0);
    return { type: 'pass', delayMs };
  }

  /** The behaviour rule for a pod: the newest matching rule wins. */
  ruleFor(pod: KubeObject): PodBehavior | undefined {
    for (let i = this.podRules.length - 1; i >= 0; i--) {
      if (podMatches(this.podRules[i].match, pod)) return this.podRules[i].behavior;
    }
    return undefined;
  }
}
