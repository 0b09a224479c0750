/**
 * What the daemon tells the operator about (lib/notify.ts delivers it):
 * - failed runs, backoffs and members at their run budget, seen in the journal as the scheduler
 *   writes them;
 * - every `BM_DAEMON_INBOX_MS` (default 60 s): new inbox items (one GraphQL request), and running
 *   members that have been quiet for the stall time (`bm status` shows them `stalled`; read from
 *   state.json and the members' own files, no request).
 */
import { readInbox } from '../inbox.ts';
import { activityOf } from '../lifecycle/activity.ts';
import { channelsOf, Notifier, type Notice } from '../notify.ts';
import { isOurs } from '../proc.ts';
import { readState, teamEntries } from '../state.ts';
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
  const send = (notice: Notice) => {
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
    } else if (e.type === 'run.budget') {
      const until = String(e.until);
      send({
        key: `budget:${member}:${until}`, kind: 'budget', member, title: `${member} is at its run budget`,
        text: `${member} used its runs for this window (--max-runs-per-hour); what arrives meanwhile runs once at ${until}. See \`bm daemon status\`.`,
      });
    }
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    for (const notice of stalledMembers(entry.name)) send(notice);
    if (canReadInbox) await checkInbox();
    if (!stopped) timer = setTimeout(() => void check(), inboxEveryMs());
  };
  const checkInbox = async () => {
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
  };
  void check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * A notice for each running member of `team` that has been quiet longer than the stall time; the
 * key holds the time of its last output, so a member that stalls again is announced again.
 */
function stalledMembers(team: string): Notice[] {
  const notices: Notice[] = [];
  for (const [key, entry] of teamEntries(readState(), team)) {
    if (!isOurs(entry.pid, entry.started)) continue;
    const activity = activityOf(entry.workspace, entry.log ?? null);
    if (!activity.stalled || !activity.lastOutputAt) continue;
    const doing = activity.issue ? ` on #${activity.issue}` : '';
    notices.push({
      key: `stalled:${key}:${activity.lastOutputAt}`, kind: 'stalled', member: entry.member, title: `${key} looks stalled`,
      text: `${key} runs${doing} but wrote no output since ${activity.lastOutputAt}. See \`bm status\` and \`bm attach ${entry.member}\`; \`bm stop ${entry.member}\` then \`bm start ${entry.member}\` restarts it.`,
    });
  }
  return notices;
}
