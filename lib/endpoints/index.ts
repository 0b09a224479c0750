/**
 * Endpoints: where a member runs, as structured data from topology.json or state.json. Each
 * endpoint type has a driver with the same two operations, so status and stop never care how
 * a member is deployed:
 *
 * - `health(endpoint)`: is it running right now;
 * - `stop(endpoint, options)`: end it (gracefully unless forced) and say how it ended.
 *
 * Every driver is imported up front: both are small (the k8s one drives kubectl), and a driver at
 * hand makes `health()` start its work at once, not a tick later: a pod's look (one kubectl process
 * per context) then overlaps whatever the caller does next. To add a type, write `<type>.ts`
 * exporting `driver` and add it to DRIVERS below.
 */
import type { Timings } from '../proc.ts';
import { driver as k8sDriver } from './k8s.ts';
import { driver as localDriver } from './local.ts';
import type { Endpoint } from '../schema.ts';

export type { Endpoint };

/** Live state of one endpoint. `stopped` means definitely not running; `unknown` means bm could not tell. */
export interface Health {
  status: 'running' | 'stopped' | 'error' | 'unknown';
  detail?: string;
}

/** How to stop. */
export interface StopOptions {
  /** Skip the graceful request: SIGTERM (or the type's equivalent) at once, then SIGKILL. */
  force: boolean;
  timings: Timings;
  /** Environment for helper commands (`ralph loops stop`, `kubectl`). */
  env: NodeJS.ProcessEnv;
}

/** How a stop ended: `failed` means the member may still be running. */
export interface StopResult {
  outcome: 'stopped' | 'terminated' | 'killed' | 'not-running' | 'failed';
  detail?: string;
}

/**
 * What the record says was deployed there (config hash, credentials version, image): a live
 * endpoint that differs has drifted. Types without such a notion ignore it.
 */
export interface Deployed {
  config_hash?: unknown;
  secret_version?: unknown;
  image?: unknown;
}

/** The operations every endpoint type implements. */
export interface EndpointDriver<E extends Endpoint = Endpoint> {
  health(endpoint: E, deployed?: Deployed): Promise<Health>;
  stop(endpoint: E, options: StopOptions): Promise<StopResult>;
}

type DriverOf<T extends Endpoint['type']> = EndpointDriver<Extract<Endpoint, { type: T }>>;

const DRIVERS: { [T in Endpoint['type']]?: DriverOf<T> } = { local: localDriver, k8s: k8sDriver };

function driverFor(endpoint: Endpoint): EndpointDriver | undefined {
  return DRIVERS[endpoint.type] as EndpointDriver | undefined;
}

/**
 * Checks one endpoint (against what was deployed there, when known); never throws (a failing
 * check is `error`, a missing driver `unknown`). The check is under way when this returns.
 */
export async function health(endpoint: Endpoint, deployed?: Deployed): Promise<Health> {
  const driver = driverFor(endpoint);
  if (!driver) return { status: 'unknown', detail: `this bm cannot check ${endpoint.type} endpoints` };
  try {
    return await driver.health(endpoint, deployed);
  } catch (error) {
    return { status: 'error', detail: (error as Error).message };
  }
}

/** Stops one endpoint; never throws (a failure is reported as `failed`). */
export async function stopEndpoint(endpoint: Endpoint, options: StopOptions): Promise<StopResult> {
  const driver = driverFor(endpoint);
  if (!driver) return { outcome: 'failed', detail: `this bm cannot stop ${endpoint.type} endpoints` };
  try {
    return await driver.stop(endpoint, options);
  } catch (error) {
    return { outcome: 'failed', detail: (error as Error).message };
  }
}

/** A short label for tables: `pid 4242`, `pod/dev-alice-0`. */
export function describeEndpoint(endpoint: Endpoint): string {
  switch (endpoint.type) {
    case 'local': return `pid ${endpoint.pid}`;
    case 'k8s': return `pod/${endpoint.pod}`;
  }
}
