/**
 * The console page: renders each snapshot the server pushes on /api/events, and turns buttons
 * into POSTs to /api/start and /api/stop. Plain DOM, no framework: the page is one table and a
 * few lists. Text goes in through textContent only, never as HTML: member output, journal lines
 * and names come from agents and from GitHub.
 */
import type { ConsoleView, MemberOutput } from '../../lib/console/view.ts';
import type { InboxItem } from '../../lib/inbox.ts';
import type { MemberStatus } from '../../lib/lifecycle/status.ts';

type Attrs = Record<string, string | boolean | undefined>;

/** Makes an element with attributes and children (strings become text nodes). */
function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined) el.append(child);
  return el;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** "12 s ago", "3 min ago", or the date for older times. */
function ago(iso: string | null | undefined): string {
  if (!iso) return '';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return iso.slice(0, 16).replace('T', ' ');
}

/** A time to come as "at 14:05:12" (local time). */
function at(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `at ${date.toLocaleTimeString()}`;
}

/** Fields other issues add to a status row (what it works on); shown when present. */
interface Extra {
  issue?: string | number | null;
  hat?: string | null;
}

let view: ConsoleView | undefined;

function workingOn(m: MemberStatus & Extra): string {
  const parts = [m.issue ? `#${String(m.issue).replace(/^#/, '')}` : '', m.hat ?? ''].filter(Boolean);
  return parts.join(' · ');
}

function memberRow(m: MemberStatus & Extra, out: MemberOutput | undefined): HTMLElement {
  const running = m.status === 'running';
  const busy = workingOn(m);
  return h('tr', { 'data-member': m.key },
    h('td', {}, h('strong', {}, m.key), busy ? h('small', {}, ` ${busy}`) : null),
    h('td', {}, m.role),
    h('td', {}, h('span', { class: `badge status s-${m.status}`, title: m.detail }, m.status)),
    h('td', {}, out?.where ?? '—'),
    h('td', { class: 'out', title: out?.lastLine ?? '' }, out?.lastLine ?? '—', out?.lastOutputAt ? h('small', {}, ago(out.lastOutputAt)) : null),
    h('td', {}, String(out?.restarts ?? 0)),
    h('td', { class: 'acts' },
      running
        ? h('button', { type: 'button', class: 'act danger', 'data-action': 'stop', 'data-key': m.key, 'data-member-name': m.name }, 'Stop')
        : h('button', { type: 'button', class: 'act', 'data-action': 'start', 'data-key': m.key, 'data-member-name': m.name }, 'Start'),
      ' ',
      h('button', { type: 'button', 'data-action': 'log', 'data-key': m.key, disabled: !m.log }, 'Log')),
  );
}

function journalLine(e: ConsoleView['journal'][number]): HTMLElement {
  const { ts, type, ...rest } = e;
  const details = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return h('li', {}, h('time', { datetime: ts }, ts.slice(11, 19)), `${type} ${details}`);
}

function daemonFacts(d: ConsoleView['daemon']): [string, string][] {
  if (!d.running) return [['Daemon', 'not running (`bm daemon start` wakes members on GitHub events)']];
  const facts: [string, string][] = [
    ['Daemon', `running (PID ${d.pid})`],
    ['Mode', d.mode === 'webhook' ? `webhook, port ${d.port ?? '?'}` : `poll, every ${d.interval ?? '?'} s`],
    ['Started', ago(d.startedAt)],
    ['Last event', d.lastEventAt ? ago(d.lastEventAt) : 'none yet'],
    ['Events', String(d.events)],
    ['Runs launched', String(d.launches)],
    ['In progress', `${d.inProgress}${d.maxRuns ? ` of at most ${d.maxRuns}` : ''}`],
  ];
  if (d.waiting) facts.push(['Waiting', String(d.waiting)]);
  if (d.maxRunsPerHour) facts.push(['Budget', `${d.maxRunsPerHour} runs per member per hour`]);
  for (const c of d.atCap ?? []) facts.push(['At budget', `${c.member}: ${c.runs} runs within the hour; next run ${at(c.until)}`]);
  for (const b of d.backoff ?? []) facts.push(['Backing off', `${b.member}: ${b.failures} failed run(s); ${b.retrying ? 'retrying' : 'the next event runs it'} ${at(b.until)}`]);
  for (const i of d.idle ?? []) facts.push(['Idle', `${i.member}: its last ${i.runs} runs did no work`]);
  for (const h of d.stoppedByOperator ?? []) facts.push(['Operator stop', `${h.member} since ${ago(h.since)}`]);
  return facts;
}

/** What the operator typed per inbox item, kept across re-renders. */
const drafts = new Map<number, string>();
let inboxShown = '';

function inboxEntry(item: InboxItem): HTMLElement {
  const draft = h('textarea', { 'data-draft': String(item.number), placeholder: item.kind === 'gate' ? 'Comment (a reason is needed to reject)' : 'Your answer' }) as HTMLTextAreaElement;
  draft.value = drafts.get(item.number) ?? '';
  const buttons = item.kind === 'gate'
    ? [h('button', { type: 'button', 'data-inbox': 'approve', 'data-number': String(item.number) }, 'Approve'), h('button', { type: 'button', class: 'danger', 'data-inbox': 'reject', 'data-number': String(item.number) }, 'Reject')]
    : [h('button', { type: 'button', 'data-inbox': 'answer', 'data-number': String(item.number) }, 'Answer')];
  return h('li', { 'data-item': String(item.number) },
    h('div', { class: 'item-head' },
      h('a', { href: item.url, target: '_blank', rel: 'noopener noreferrer' }, h('strong', {}, `#${item.number}`), ` ${item.title}`),
      h('span', { class: 'badge' }, item.kind === 'gate' ? `gate: ${item.gate}` : 'question'),
      h('small', {}, [item.status, item.askedBy ? `asked by ${item.askedBy}` : '', `waiting ${ago(item.waitingSince).replace(' ago', '')}`].filter(Boolean).join(' · '))),
    item.question ? h('blockquote', {}, item.question) : null,
    h('div', { class: 'inbox-actions' }, draft, ...buttons));
}

function renderGitHub(github: ConsoleView['github']): void {
  byId('github').hidden = github === null;
  if (!github) return;
  byId('github-at').textContent = github.at ? `read ${ago(github.at)}` : 'reading…';
  const error = byId('github-error');
  error.hidden = !github.error;
  error.textContent = github.error ?? '';
  const items = github.inbox?.items ?? [];
  byId('inbox-count').textContent = github.inbox ? String(items.length) : '?';
  // Re-rendered only when the items change: a push must not take away what is being typed.
  const shown = JSON.stringify(github.inbox);
  if (shown !== inboxShown) {
    inboxShown = shown;
    byId('inbox').replaceChildren(...(items.length ? items.map(inboxEntry) : [h('li', {}, github.inbox ? 'Nothing waits for you.' : '')]));
  }
  const link = byId('board-link') as HTMLAnchorElement;
  link.textContent = github.board ? `${github.board.items} items` : '';
  if (github.board) link.href = github.board.url;
  byId('board').replaceChildren(...(github.board?.columns ?? []).map((c) => h('li', { 'data-column': c.name }, h('span', {}, c.name), h('b', {}, String(c.count)))));
}

function render(next: ConsoleView): void {
  view = next;
  const s = next.status;
  document.body.classList.toggle('readonly', next.readOnly);
  byId('team').textContent = s.team;
  document.title = `bm console: ${s.team}`;
  byId('facts').textContent = [`profile ${s.profile}`, `formation ${s.formation ?? 'none deployed'}`, next.githubRepo ? `GitHub ${next.githubRepo}` : 'no GitHub repo', next.readOnly ? 'read-only' : ''].filter(Boolean).join(' · ');
  const warnings = byId('warnings');
  warnings.hidden = s.warnings.length === 0;
  warnings.replaceChildren(...s.warnings.map((w) => h('p', {}, w)));
  const body = byId('members').querySelector('tbody') as HTMLElement;
  body.replaceChildren(...(s.members.length ? s.members.map((m) => memberRow(m, next.output[m.key])) : [h('tr', {}, h('td', { colspan: '7' }, 'No members hired yet. Run `bm hire <role>` to hire one.'))]));
  renderGitHub(next.github);
  byId('daemon').replaceChildren(...daemonFacts(next.daemon).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  byId('journal').replaceChildren(...(next.journal.length ? [...next.journal].reverse().map(journalLine) : [h('li', { class: 'empty' }, 'Nothing journaled yet.')]));
  document.body.dataset.ready = 'true';
}

/** Asks before something destructive; resolves true when confirmed. */
function confirmAction(text: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

function showResult(text: string, ok: boolean): void {
  const result = byId('result');
  result.textContent = text;
  result.className = ok ? '' : 'bad';
}

/** Sends an action; shows its outcome and resolves true when it succeeded. */
async function send(route: string, body: Record<string, unknown>, doing: string): Promise<boolean> {
  showResult(`${doing}…`, true);
  try {
    const res = await fetch(route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json() as { lines?: string[]; error?: string };
    showResult(answer.error ?? (answer.lines ?? []).join(' · '), res.ok);
    return res.ok;
  } catch (error) {
    showResult(`Could not reach the console: ${(error as Error).message}`, false);
    return false;
  }
}

async function post(action: 'start' | 'stop', members: string[]): Promise<void> {
  await send(`/api/${action}`, members.length ? { members } : {}, `${action === 'start' ? 'Starting' : 'Stopping'} ${members.length ? members.join(', ') : 'the team'}`);
}

async function inboxAction(action: string, number: number): Promise<void> {
  const text = drafts.get(number) ?? '';
  if (action !== 'answer' && !(await confirmAction(`${action === 'approve' ? 'Approve' : 'Reject'} #${number}? It moves on the board and its owners are woken.`))) return;
  if (await send(`/api/inbox/${action}`, { number, text }, `${action === 'answer' ? 'Answering' : action === 'approve' ? 'Approving' : 'Rejecting'} #${number}`)) drafts.delete(number);
}

document.addEventListener('input', (event) => {
  const target = event.target as HTMLTextAreaElement;
  if (target.dataset.draft) drafts.set(Number(target.dataset.draft), target.value);
});

let logStream: EventSource | undefined;

function followLog(key: string): void {
  logStream?.close();
  const panel = byId('log');
  const lines = byId('log-lines');
  panel.hidden = false;
  byId('log-member').textContent = key;
  lines.textContent = '';
  logStream = new EventSource(`/api/logs?member=${encodeURIComponent(key)}`);
  logStream.addEventListener('lines', (event) => {
    const atEnd = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 4;
    lines.append(`${(JSON.parse((event as MessageEvent<string>).data) as string[]).join('\n')}\n`);
    // Keep only the last 2,000 lines' worth of text.
    if (lines.textContent && lines.textContent.length > 400_000) lines.textContent = lines.textContent.slice(-300_000);
    if (atEnd) lines.scrollTop = lines.scrollHeight;
  });
}

document.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest('button');
  if (!button) return;
  if (button.id === 'start-all') {
    const formation = view?.status.formation;
    // A non-local formation redeploys the team: members whose configuration changed restart.
    if (formation && formation !== 'local') void confirmAction(`Deploy team '${view?.status.team}' with formation '${formation}'? Members whose configuration changed are restarted.`).then((ok) => (ok ? post('start', []) : undefined));
    else void post('start', []);
  }
  else if (button.id === 'stop-all') {
    const running = view?.status.members.filter((m) => m.status === 'running').length ?? 0;
    void confirmAction(`Stop all ${running} running member(s) of team '${view?.status.team}'? Their current iterations are asked to finish first.`).then((ok) => (ok ? post('stop', []) : undefined));
  } else if (button.id === 'log-close') {
    logStream?.close();
    byId('log').hidden = true;
  } else if (button.dataset.action === 'start') void post('start', [button.dataset.memberName ?? '']);
  else if (button.dataset.action === 'stop') void confirmAction(`Stop ${button.dataset.key}?`).then((ok) => (ok ? post('stop', [button.dataset.memberName ?? '']) : undefined));
  else if (button.dataset.action === 'log') followLog(button.dataset.key ?? '');
  else if (button.dataset.inbox) void inboxAction(button.dataset.inbox, Number(button.dataset.number));
});

// The page arrives with a first snapshot in it; the event stream brings the next ones.
const initial = document.getElementById('initial-view');
if (initial?.textContent) render(JSON.parse(initial.textContent) as ConsoleView);

const live = byId('live');
const events = new EventSource('/api/events');
events.addEventListener('view', (event) => render(JSON.parse((event as MessageEvent<string>).data) as ConsoleView));
events.addEventListener('open', () => {
  live.textContent = 'live';
  live.className = 'badge on';
});
events.addEventListener('error', () => {
  live.textContent = 'reconnecting…';
  live.className = 'badge off';
});
// Relative times ("12 s ago") age between pushes.
setInterval(() => view && render(view), 15_000);
