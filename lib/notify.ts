/**
 * Notifications the daemon sends the operator: a new inbox item, a member backing off after
 * failed runs, a failed run. Channels are set per team (`bm teams notify`) in the operator
 * config: the webhook URL with the team's credentials (a Slack or Discord URL is itself a
 * secret, so it stays out of argv, logs and caches), the desktop switch under `notify:`.
 *
 * The webhook gets one JSON POST per notification, shaped so that the common receivers take it
 * as it is: `text` (Slack-compatible), `content` (Discord-compatible), `title` and `message`
 * (ntfy's JSON publishing, and anything generic), plus the structured `bm` object. The desktop
 * channel runs `notify-send` when it is on the PATH.
 *
 * Each notification has a key (`inbox:12:<since>`, `backoff:dev-alice:3`): a key is sent once,
 * also across daemon restarts (the keys are kept in `notified.json`), and at most `burst`
 * notifications go out per minute; the rest are counted and summed up in the next one that may
 * go. Every text passes through `redact` with the team's secrets first: no token ever leaves.
 */
import { spawn } from 'node:child_process';
import { readTextIfExists, writeFileAtomic } from './files.ts';
import { redact } from './output.ts';
import { which } from './proc.ts';

/** A team's notification channels. */
export interface NotifyChannels {
  webhook?: string;
  desktop?: boolean;
}

/** The channels of a team's config entry. */
export function channelsOf(entry: { credentials?: { notify_webhook?: string }; notify?: { desktop?: boolean } }): NotifyChannels {
  return { webhook: entry.credentials?.notify_webhook || undefined, desktop: entry.notify?.desktop === true };
}

/** One thing to tell the operator. */
export interface Notice {
  /** Sent once per key. */
  key: string;
  kind: 'inbox' | 'backoff' | 'budget' | 'failed-run' | 'stalled' | 'test';
  title: string;
  text: string;
  url?: string;
  member?: string;
}

/** Options of the notifier. */
export interface NotifierOptions {
  team: string;
  channels: NotifyChannels;
  /** Secrets to mask in everything sent (token, webhook secret). */
  secrets: readonly (string | undefined)[];
  /** Where sent keys are remembered (`daemon/<team>/notified.json`). */
  stateFile: string;
  /** Most notifications per minute (default 6). */
  burst?: number;
  /** The clock (tests). */
  now?: () => number;
  log(level: 'info' | 'warn', line: string): void;
}

/** Keys remembered at most (oldest forgotten first). */
const MAX_KEYS = 2000;

/** Deduplicates, rate-limits and delivers notices. */
export class Notifier {
  readonly #o: NotifierOptions;
  readonly #sent: string[];
  #windowStart = 0;
  #inWindow = 0;
  #held = 0;

  constructor(options: NotifierOptions) {
    this.#o = options;
    let keys: unknown;
    try {
      keys = JSON.parse(readTextIfExists(options.stateFile) ?? '[]');
    } catch {
      keys = [];
    }
    this.#sent = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
  }

  /** True when any channel is set. */
  get enabled(): boolean {
    return Boolean(this.#o.channels.webhook || this.#o.channels.desktop);
  }

  /** Sends `notice` unless its key was sent before or the rate limit holds it back. */
  async notify(notice: Notice): Promise<boolean> {
    if (!this.enabled || this.#sent.includes(notice.key)) return false;
    const now = (this.#o.now ?? Date.now)();
    if (now - this.#windowStart >= 60_000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    this.#remember(notice.key);
    if (this.#inWindow >= (this.#o.burst ?? 6)) {
      this.#held++;
      this.#o.log('warn', `notification held back by the rate limit: ${notice.title}`);
      return false;
    }
    this.#inWindow++;
    const more = this.#held ? ` (and ${this.#held} more held back by the rate limit; see \`bm inbox\` and \`bm daemon status\`)` : '';
    this.#held = 0;
    await this.#deliver({ ...notice, text: notice.text + more });
    return true;
  }

  #remember(key: string): void {
    this.#sent.push(key);
    if (this.#sent.length > MAX_KEYS) this.#sent.splice(0, this.#sent.length - MAX_KEYS);
    try {
      writeFileAtomic(this.#o.stateFile, JSON.stringify(this.#sent), 0o600);
    } catch (error) {
      this.#o.log('warn', `cannot record sent notifications: ${(error as Error).message}`);
    }
  }

  async #deliver(notice: Notice): Promise<void> {
    const clean = (text: string) => redact(text, this.#o.secrets);
    const title = clean(`bm ${this.#o.team}: ${notice.title}`);
    const text = clean(notice.text);
    const url = notice.url ? clean(notice.url) : undefined;
    const line = url ? `${text}\n${url}` : text;
    const { webhook, desktop } = this.#o.channels;
    if (webhook) {
      const body = {
        text: `*${title}*\n${line}`, content: `**${title}**\n${line}`, title, message: line,
        bm: { team: this.#o.team, kind: notice.kind, key: clean(notice.key), member: notice.member ?? null, url: url ?? null, ts: new Date().toISOString() },
      };
      try {
        const response = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'bm-notify' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
        if (!response.ok) this.#o.log('warn', `the notification webhook answered HTTP ${response.status}`);
        await response.body?.cancel();
      } catch (error) {
        // The URL itself may hold a secret (Slack, Discord): name the host only.
        this.#o.log('warn', `cannot reach the notification webhook at ${hostOf(webhook)}: ${clean((error as Error).message)}`);
      }
    }
    if (desktop) {
      const notifySend = which('notify-send', process.env);
      if (notifySend) spawn(notifySend, ['--app-name=bm', title, line], { stdio: 'ignore', detached: false }).on('error', () => undefined).unref();
    }
    this.#o.log('info', `notified: ${title}`);
  }
}

/** The host of a URL, for messages that must not show the URL's secret path. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** Checks a webhook URL: http(s) only. */
export function validWebhook(raw: string): string | undefined {
  try {
    const url = new URL(raw.trim());
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
