/**
 * Refused webhook requests, counted rather than recorded: anyone who reaches the port can send
 * them, so nothing they carry is journaled, and the log gets the first one and then at most one
 * summary a minute. Junk can neither rotate away the journal (and with it the delivery ids
 * remembered for dedupe) nor flood the log.
 */
import type { Logger } from './log.ts';

/** How often a summary of refused requests is logged. */
const SUMMARY_MS = 60_000;

/** Counts refused requests and logs them sparingly. */
export class Rejections {
  /** Refused since the daemon started. */
  total = 0;
  readonly #log: Logger;
  #pending = new Map<string, number>();
  #lastId: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Records one refusal; `id` is the request's (well-formed) delivery id, if it had one. */
  note(status: number, reason: string, id: string | undefined): void {
    this.total++;
    if (this.total === 1) {
      this.#log.warn(`refused a webhook request: ${status} ${reason}${id ? ` (delivery ${short(id)})` : ''}`);
      return;
    }
    const key = `${status} ${reason}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    if (id) this.#lastId = id;
    this.#timer ??= setTimeout(() => this.flush(), SUMMARY_MS).unref();
  }

  /** Logs the summary of what was refused since the last one. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const count = [...this.#pending.values()].reduce((a, b) => a + b, 0);
    const kinds = [...this.#pending].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([what, n]) => `${n}× ${what}`).join('; ');
    this.#log.warn(`refused ${count} more webhook request(s): ${kinds}${this.#lastId ? ` (last delivery ${short(this.#lastId)})` : ''}`);
    this.#pending.clear();
    this.#lastId = undefined;
  }
}

function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}
