/**
 * What the daemon tells the operator about (lib/notify.ts delivers it): new inbox items, found by
 * reading the inbox every `BM_DAEMON_INBOX_MS` (default 60 s; one GraphQL request each), and
 * failed runs and backoffs, seen in the journal as the scheduler writes them.
 */
import process from 'node:process';
import { readInbox } from '../inbox.ts';
import { channelsOf, Notifier } from '../notify.ts';
import type { TeamEntry } from '../schema.ts';
import type { DaemonPaths } from './files.ts';
import type { Journal, JournalEntry } from './journal.ts';
import type { Logger } from './log.ts';

/** Env knob: how often the daemon reads the inbox for new items (ms). */
export function inboxEveryMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_INBOX_MS);
  return Number.isFinite(value) && value >= 200 ? value : 60_000;
}

/** Starts watching; returns a function that stops it. Does nothing when the team set no channel. */
export function watchNotices(entry: TeamEntry, paths: DaemonPaths, journal: Journal, log: Logger, canReadInbox: boolean): () => void {
  const notifier = new Notifier({
    team: entry.name,
    channels: channelsOf(entry),
    secrets: [entry.credentials?.gh_token, entry.credentials?.webhook_secret, process.env.GH_TOKEN],
    stateFile: `${paths.dir}/notified.json`,
    log: (level, line) => (level === 'warn' ? log.warn(line) : log.info(line)),
  });
  if (!notifier.enabled) return () => undefined;
  const send = (notice: Parameters<Notifier['notify']>[0]) => {
    void notifier.notify(notice).then((sent) => {
      if (sent) journal.add({ type: 'notify', kind: notice.kind, key: notice.key });
    });
  };
  journal.listeners.push((e: JournalEntry) => {
    const member = typeof e.member === 'string' ? e.member : undefined;
    if (!member) return;
    if ((e.type === 'run.end' && e.code !== 0) || e.type === 'run.timeout') {
      const how = e.type === 'run.timeout' ? 'ran too long and was stopped' : `exited with code ${String(e.code)}`;
      send({ key: `failed:${member}:${String(e.pid)}`, kind: 'failed-run', member, title: `a run of ${member} failed`, text: `The run of ${member} ${how}. See \`bm logs ${member}\`.` });
    } else if (e.type === 'run.backoff') {
      const retrying = e.retrying === true;
      send({
        key: `backoff:${member}:${String(e.failures)}`, kind: 'backoff', member, title: `${member} is backing off`,
        text: `${member} failed ${String(e.failures)} run(s) in a row; ${retrying ? `the next try waits ${Math.round(Number(e.waitMs) / 1000)} s` : 'it waits for a new event now'}. See \`bm daemon status\` and \`bm logs ${member}\`.`,
      });
    }
  });
  if (!canReadInbox) return () => undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const inbox = await readInbox(entry.name);
      for (const item of inbox.items) {
        const who = item.askedBy ? ` from ${item.askedBy}` : '';
        send({
          key: `inbox:${item.number}:${item.waitingSince}`, kind: 'inbox', member: item.askedBy ?? undefined, url: item.url,
          title: item.kind === 'gate' ? `#${item.number} waits for your approval (${item.gate} gate)` : `#${item.number}: a question${who}`,
          text: `${item.title}${item.question ? `\n\n${item.question.slice(0, 500)}` : ''}\n\nSee \`bm inbox\`.`,
        });
      }
    } catch (error) {
      log.warn(`cannot read the inbox for notifications: ${(error as Error).message}`);
    }
    if (!stopped) timer = setTimeout(() => void check(), inboxEveryMs());
  };
  void check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
