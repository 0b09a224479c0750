/**
 * `--tunnel URL`: forwards deliveries from a smee.io channel to the daemon's local port with
 * `smee-client`, supervised.
 *
 * smee-client gives up for good when a (re)connect is refused (the EventSource is CLOSED) and is
 * known to stall silently after hours, so the daemon restarts it: after a closed stream (with
 * capped exponential backoff) and once per hour regardless. Deliveries that arrive while the
 * tunnel is down are lost by smee.io (it stores nothing); the reconcile poll catches up.
 * Forwarded deliveries go through the same signature check as direct ones: anyone who knows a
 * channel URL can post to it.
 */
import type { Logger } from './log.ts';

/** Options of the tunnel. */
export interface TunnelOptions {
  source: string;
  /** The local webhook URL (`http://127.0.0.1:<port>/webhook`). */
  target: string;
  log: Logger;
  changed(): void;
}

/** The tunnel's state, shown by `bm daemon status`. */
export type TunnelState = 'connecting' | 'up' | 'down';

interface Client {
  start(): Promise<EventTarget & { readyState: number }>;
  stop(): Promise<void>;
}

const CLOSED = 2;
const MAX_BACKOFF_MS = 60_000;

/** A supervised smee-client. */
export class Tunnel {
  readonly #o: TunnelOptions;
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ageTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  state: TunnelState = 'connecting';
  /** Restarts after the first connection. */
  restarts = 0;

  constructor(options: TunnelOptions) {
    this.#o = options;
  }

  start(): void {
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#ageTimer);
    await this.#client?.stop().catch(() => undefined);
  }

  #set(state: TunnelState): void {
    if (this.state === state) return;
    this.state = state;
    this.#o.changed();
  }

  #restart(why: string): void {
    if (this.#stopped || this.#timer) return;
    const client = this.#client;
    this.#client = undefined;
    clearTimeout(this.#ageTimer);
    void client?.stop().catch(() => undefined);
    this.#set('down');
    const wait = Math.min(1000 * 2 ** this.#failures, MAX_BACKOFF_MS);
    this.#failures++;
    this.#o.log.warn(`tunnel: ${why}; reconnecting in ${(wait / 1000).toFixed(0)}s`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.restarts++;
      void this.#connect();
    }, wait);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const { log, source, target } = this.#o;
    this.#set('connecting');
    const { default: SmeeClient } = await import('smee-client');
    const logger = {
      info: (message: string) => log.info(`tunnel: ${String(message)}`),
      error: (...parts: unknown[]) => log.warn(`tunnel: ${parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' ')}`),
    };
    // smee-client's default fetch is the undici package's; under Deno its stream never learns that
    // the connection dropped, so the tunnel would stall for good. Deno's own fetch notices.
    const runtimeFetch = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? { fetch: globalThis.fetch } : {};
    const client = new SmeeClient({ source, target, logger, maxConnectionTimeout: 15_000, ...runtimeFetch }) as unknown as Client;
    this.#client = client;
    let events: EventTarget & { readyState: number };
    try {
      events = await client.start();
    } catch (error) {
      if (this.#client === client) this.#restart(`cannot connect to ${source} (${(error as Error).message ?? 'refused'})`);
      return;
    }
    if (this.#stopped || this.#client !== client) {
      await client.stop().catch(() => undefined);
      return;
    }
    this.#failures = 0;
    this.#set('up');
    events.addEventListener('open', () => this.#set('up'));
    events.addEventListener('error', () => {
      if (this.#client !== client) return;
      if (events.readyState === CLOSED) this.#restart('the channel closed the stream');
      else this.#set('connecting');
    });
    this.#ageTimer = setTimeout(() => this.#restart('periodic reconnect (smee-client can stall silently)'), maxAgeMs());
    this.#ageTimer.unref();
  }
}

function maxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_TUNNEL_MAX_AGE_S);
  return (Number.isFinite(value) && value > 0 ? value : 3600) * 1000;
}
