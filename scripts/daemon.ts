/**
 * `bm daemon start|stop|status|log`: the event-driven daemon that wakes the team's members only
 * when GitHub has work. It receives signed webhooks (or polls the repository's events), and
 * runs every member one-shot (`persistent: false`) per burst of relevant events. `bm daemon run`
 * (hidden) is the long-lived process that `start` launches detached. Internals: lib/daemon/.
 */
import { existsSync } from 'node:fs';
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { startDaemon, stopDaemon, TUNNEL_ENV } from '../lib/daemon/control.ts';
import { wakeEvents } from '../lib/daemon/events.ts';
import { daemonPaths, daemonStatus, type DaemonMode, type DaemonStatus } from '../lib/daemon/files.ts';
import { hookEvents, lastDelivery, planHook, readHookRecord, writeHookRecord } from '../lib/daemon/hook.ts';
import { runLauncher } from '../lib/daemon/launcher.ts';
import { parsePort, runDaemon } from '../lib/daemon/run.ts';
import { createGitHub, listRepoHooks, readRepoHook, saveRepoHook } from '../lib/github.ts';
import { BmError, UsageError, info, out, printJson, warn, write } from '../lib/output.ts';
import { home } from '../lib/paths.ts';
import { followAppends, positionOf, tailLines } from '../lib/logs.ts';
import { canPrompt, closePrompts, confirm } from '../lib/prompt.ts';
import { requireSchemaV2 } from '../lib/schema.ts';
import { deployedElsewhere } from '../lib/lifecycle/formation.ts';
import { loadTeamFromFlag, type Team } from '../lib/team.ts';

const DEFAULT_PORT = 8484;
const DEFAULT_BIND = '127.0.0.1';
const DEFAULT_INTERVAL = 60;
/** Agent runs are heavy (an LLM client each); a few at once keeps a laptop usable. */
const DEFAULT_MAX_RUNS = 4;
/**
 * A one-shot run scans all of a member's work, so a few runs an hour keep up with a busy board;
 * more than this is likely a loop burning tokens.
 */
const DEFAULT_MAX_RUNS_PER_HOUR = 6;

function parseMode(raw: string | undefined): DaemonMode {
  const mode = raw ?? 'webhook';
  if (mode !== 'webhook' && mode !== 'poll') throw new UsageError(`Invalid daemon mode '${mode}'`, "Use 'webhook' or 'poll'.");
  return mode;
}

function parseInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_INTERVAL;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError(`Invalid interval '${raw}'`, 'Use a whole number of seconds, 1 or more.');
  return seconds;
}

/** A `--tunnel` or `--public-url` value: an http(s) URL, in webhook mode only. */
function parseUrl(flag: 'tunnel' | 'public-url', raw: string | undefined, mode: DaemonMode): string | undefined {
  if (raw === undefined) return undefined;
  if (mode !== 'webhook') throw new UsageError(`--${flag} needs webhook mode`, `Drop --${flag}, or use --mode webhook.`);
  const example = flag === 'tunnel' ? 'a smee.io channel URL such as https://smee.io/AbC123' : 'the public address of a tunnel to this port, such as https://bm.example.com/webhook';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Invalid ${flag === 'tunnel' ? 'tunnel' : 'public'} URL '${raw}'`, `Use ${example}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`Invalid ${flag === 'tunnel' ? 'tunnel' : 'public'} URL '${raw}'`, `Use ${example}.`);
  return url.toString();
}

/**
 * Offers to create or update the team repo's webhook so that GitHub delivers to `url` (the
 * daemon runs already, so GitHub's ping reaches it). Asks on a terminal; `--yes` skips the
 * question; elsewhere it only says what it would do. The secret goes in the request body only.
 */
async function offerWebhook(team: Team, url: string, yes: boolean): Promise<void> {
  const repo = team.entry.github_repo;
  const token = team.entry.credentials?.gh_token || process.env.GH_TOKEN;
  if (!repo || !token) {
    warn(`GitHub cannot be asked to deliver to ${url}: team '${team.name}' has no GitHub repository or token; set the webhook up by hand.`);
    return;
  }
  const gh = await createGitHub({ token });
  const events = hookEvents(wakeEvents(team.manifest));
  const plan = planHook(await listRepoHooks(gh, repo), url, events);
  const file = daemonPaths(team.name).hook;
  if (plan.action === 'none') {
    writeHookRecord(file, { repo, id: plan.hook.id, url });
    out(`GitHub webhook ${plan.hook.id} of ${repo} already delivers to ${url}`);
    return;
  }
  const change = plan.action === 'create'
    ? `Create a webhook on ${repo} that delivers ${plan.events.join(', ')} to ${url} (JSON, signed with the team's secret)`
    : `Update webhook ${plan.hook.id} of ${repo} (${plan.why.join('; ')}) to deliver ${plan.events.join(', ')} to ${url}, signed with the team's secret`;
  if (!yes) {
    if (!canPrompt()) {
      info(`${change}: not done without a terminal to ask on; re-run with --yes to do it.`);
      return;
    }
    const agreed = await confirm(`${change}?`);
    closePrompts();
    if (!agreed) {
      out('GitHub webhook left as it is.');
      return;
    }
  }
  const hook = await saveRepoHook(gh, repo, { url, secret: team.entry.credentials?.webhook_secret ?? '', events: plan.events },
    plan.action === 'update' ? { id: plan.hook.id, contentType: plan.hook.contentType } : undefined);
  writeHookRecord(file, { repo, id: hook.id, url });
  out(`${plan.action === 'create' ? 'Created' : 'Updated'} GitHub webhook ${hook.id} of ${repo}; GitHub pings it now (\`bm daemon status\` shows the last delivery)`);
}

/** The webhook bm set up (hook.json), with GitHub's last delivery to it; a failure to ask is shown, not thrown. */
async function webhookHealth(team: Team): Promise<DaemonStatus['webhook']> {
  const record = readHookRecord(daemonPaths(team.name).hook);
  const token = team.entry.credentials?.gh_token || process.env.GH_TOKEN;
  if (!record || !token) return undefined;
  try {
    // Status answers quickly even when GitHub does not.
    const hook = await readRepoHook(await createGitHub({ token, timeoutMs: 5000 }), record.repo, record.id);
    if (!hook) return { ...record, lastDelivery: null, error: 'the webhook no longer exists on GitHub' };
    const last = lastDelivery(hook);
    return { ...record, lastDelivery: { ok: last.ok, text: last.text, ...hook.lastResponse ?? { code: null, status: null, message: null } } };
  } catch (error) {
    return { ...record, lastDelivery: null, error: (error as Error).message };
  }
}

function parseMaxRuns(raw: string | undefined, fallback = DEFAULT_MAX_RUNS): number {
  if (raw === undefined) return fallback;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new UsageError(`Invalid run cap '${raw}'`, 'Use a whole number of runs, from 1 to 1000.');
  return runs;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean).slice(0, 3).join(' ');
}

function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : 'none yet';
}

/** How `bm daemon status` names the reasons events were ignored (events.ts IgnoreReason). */
const IGNORE_WORDS: Record<string, string> = {
  'not-watched': 'not watched', 'quiet-action': 'quiet actions', 'foreign-repo': 'other repositories', 'foreign-board': 'other boards',
  'no-repo': 'without a repository', self: "the team's own",
};

/** `bm daemon status -v`: where the team lives on GitHub and the rule table for its own events. */
function printRules(s: DaemonStatus): void {
  if (!s.repos?.length) {
    out('Relevance:        every watched event wakes the team (it has no GitHub repository to filter on)');
    return;
  }
  out(`Repositories:     ${s.repos.join(', ')}`);
  const boardHow = (b: NonNullable<DaemonStatus['board']>) => `${b.ownerType === 'User' ? 'user-owned' : 'organisation-owned'}: ${b.polled ? 'its moves are read by polling' : 'an organisation hook delivers its moves'}`;
  out(`Board:            ${s.board ? `${s.board.url} (${s.board.id}, ${boardHow(s.board)})` : 'unknown: board moves wake nobody'}`);
  out(`Identity:         ${s.identity ?? "unknown: the team's own comments and pushes wake it too"}`);
  out(`Events caused by ${s.identity ?? 'the identity'} wake the team only for:`);
  const width = Math.max(...(s.rules ?? []).map((r) => r.event.length));
  for (const rule of s.rules ?? []) out(`  ${rule.event.padEnd(width)}  ${rule.wakes.length ? rule.wakes.join(', ') : 'never'}  (${rule.why})`);
  out(`  ${'other events'.padEnd(width)}  never`);
}

function printStatus(team: string, s: DaemonStatus, verbose: boolean): void {
  if (!s.running) {
    out(s.stale ? `Daemon: not running (stale PID file${s.pid ? ` of PID ${s.pid}` : ''} removed)` : 'Daemon: not running');
    return;
  }
  out(`Daemon:           running (PID ${s.pid})`);
  out(`Team:             ${team}`);
  out(`Mode:             ${s.mode === 'webhook' ? `webhook (port ${s.port} on ${s.bind})` : `poll (interval ${s.interval}s)`}`);
  const polled = s.effectiveInterval;
  if (polled) out(`${s.mode === 'poll' ? 'Polling:    ' : 'Reconciling:'}      every ${polled.seconds}s: ${polled.why}`);
  if (s.tunnel) out(`Tunnel:           ${s.tunnel} (${s.tunnelState})`);
  if (s.webhook) {
    const health = s.webhook.lastDelivery ? `last delivery ${s.webhook.lastDelivery.text}` : `unknown: ${s.webhook.error ?? 'no answer'}`;
    out(`GitHub webhook:   ${s.webhook.id} of ${s.webhook.repo} to ${s.webhook.url}: ${health}`);
  }
  out(`Started:          ${when(s.startedAt)}${s.uptimeSeconds !== undefined ? ` (up ${duration(s.uptimeSeconds)})` : ''}`);
  out(`Last event:       ${when(s.lastEventAt)}`);
  const ignoredBy = Object.entries(s.ignoredBy ?? {}).map(([reason, n]) => `${n} ${IGNORE_WORDS[reason] ?? reason}`).join(', ');
  out(`Events received:  ${s.events}${s.ignored ? ` (${s.ignored} ignored: ${ignoredBy})` : ''}`);
  if (s.rejected) out(`Requests refused: ${s.rejected} (unsigned, malformed or too many at once; see daemon.log)`);
  out(`Runs launched:    ${s.launches}`);
  out(`Runs in progress: ${s.inProgress}${s.maxRuns ? ` (at most ${s.maxRuns} at once)` : ''}`);
  if (s.waiting) out(`Runs waiting:     ${s.waiting}`);
  if (s.maxRunsPerHour) out(`Run budget:       ${s.maxRunsPerHour} runs per member per hour`);
  for (const c of s.atCap ?? []) out(`At budget:        ${c.member} (${c.runs} runs within the hour; its next run at ${when(c.until)})`);
  for (const i of s.idle ?? []) out(`Idle:             ${i.member} (its last ${i.runs} runs did no work; its own events do not wake it)`);
  for (const b of s.backoff ?? []) {
    const next = b.retrying ? `retrying at ${when(b.until)}` : `no more retries; the next event runs it, not before ${when(b.until)}`;
    out(`Backing off:      ${b.member} (${b.failures} failed run${b.failures === 1 ? '' : 's'} in a row; ${next})`);
  }
  for (const h of s.stoppedByOperator ?? []) out(`Operator stop:    ${h.member} (\`bm stop\` at ${when(h.since)}; the next event runs it again, or \`bm start\`)`);
  if (verbose) printRules(s);
}

const start = defineCommand({
  name: 'daemon start',
  summary: 'Start the daemon that wakes members when GitHub has work',
  description: [
    'Starts one daemon per team, detached. Webhook mode (the default) serves POST /webhook on',
    '--bind:--port and accepts only deliveries signed with the team\'s webhook secret (made by',
    '`bm init`); a reconcile poll runs alongside it when the team has a GitHub repo. --tunnel',
    'forwards a smee.io channel to the local port. Poll mode reads the repository\'s events every',
    '--interval seconds (or GitHub\'s X-Poll-Interval when longer). On each burst of relevant',
    'events every member runs once, one-shot (ralph.oneshot.yml, persistent: false), at a lower',
    'CPU priority; at most --max-runs at once, and at most --max-runs-per-hour per member in any',
    'hour (wake-ups beyond it wait, coalesced into one run when the hour allows). A member whose',
    'runs fail quickly is retried with growing waits; one whose runs keep doing no work is not',
    'woken by its own events (both shown by `bm daemon status`). Only events of the team\'s',
    'repositories and board wake it, and the team\'s own comments and pushes do not. With a public',
    'address (--tunnel, or --public-url for any other tunnel to the port), bm offers to create or',
    'update the team repo\'s webhook to deliver there (asks on a terminal; --yes does it).',
  ].join('\n'),
  options: {
    mode: { type: 'string', value: 'MODE', description: 'webhook (default) or poll' },
    port: { type: 'string', value: 'PORT', description: `webhook port (default ${DEFAULT_PORT}; 0 picks a free one)` },
    bind: { type: 'string', value: 'ADDR', description: `address to listen on (default ${DEFAULT_BIND})` },
    interval: { type: 'string', value: 'SECONDS', description: `poll interval (default ${DEFAULT_INTERVAL})` },
    tunnel: { type: 'string', value: 'URL', description: 'smee.io channel URL to forward deliveries from' },
    'public-url': { type: 'string', value: 'URL', description: 'where GitHub can reach the webhook port (a tunnel), to set up the repository webhook' },
    yes: { type: 'boolean', short: 'y', description: 'create or update the repository webhook without asking' },
    'max-runs': { type: 'string', value: 'N', description: `most member runs at once; others wait their turn (default ${DEFAULT_MAX_RUNS})` },
    'max-runs-per-hour': { type: 'string', value: 'N', description: `most runs per member in any hour (default ${DEFAULT_MAX_RUNS_PER_HOUR})` },
    team: teamOption,
  },
  examples: [
    'bm daemon start --max-runs-per-hour 4', 'bm daemon start --mode poll --interval 120', 'bm daemon start --port 9000 --tunnel https://smee.io/AbC123 --yes',
    'bm daemon start --public-url https://bm.example.com/webhook', 'bm daemon start --max-runs 2',
  ],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    requireSchemaV2(team.name, team.schemaVersion);
    const elsewhere = deployedElsewhere(team);
    if (elsewhere) throw elsewhere;
    const mode = parseMode(cli.string('mode'));
    const port = parsePort(cli.string('port'), DEFAULT_PORT);
    const interval = parseInterval(cli.string('interval'));
    const bind = cli.string('bind') ?? DEFAULT_BIND;
    const tunnel = parseUrl('tunnel', cli.string('tunnel'), mode);
    const publicUrl = parseUrl('public-url', cli.string('public-url'), mode) ?? tunnel;
    const maxRuns = parseMaxRuns(cli.string('max-runs'));
    const maxRunsPerHour = parseMaxRuns(cli.string('max-runs-per-hour'), DEFAULT_MAX_RUNS_PER_HOUR);
    const credentials = team.entry.credentials ?? {};
    if (mode === 'webhook' && !credentials.webhook_secret) {
      throw new BmError(`Team '${team.name}' has no webhook secret, and webhook mode accepts only signed deliveries`,
        `Add \`webhook_secret\` under the team's credentials in ${home.config()} (a long random string, also set on the GitHub webhook), or use --mode poll.`);
    }
    if (mode === 'poll') {
      if (!team.entry.github_repo) throw new BmError(`Team '${team.name}' has no GitHub repository to poll`, 'Use webhook mode, or re-init the team with --github-repo.');
      if (!credentials.gh_token && !process.env.GH_TOKEN) throw new BmError('Poll mode needs a GitHub token', 'Export GH_TOKEN or add gh_token to the team\'s credentials.');
    }
    if (mode === 'webhook' && !LOOPBACK.has(bind)) warn(`listening on ${bind}: the webhook port is reachable from other machines (only signed deliveries are accepted).`);
    info(`Starting daemon for team '${team.name}' in ${mode} mode...`);
    const record = await startDaemon({ team: team.name, mode, port, bind, interval, maxRuns, maxRunsPerHour, ...(tunnel ? { tunnel } : {}) }, info);
    const where = mode === 'webhook' ? `listening on http://${bind}:${record.port}/webhook` : `polling ${team.entry.github_repo} every ${interval}s`;
    out(`Daemon started (PID ${record.pid}), ${where}`);
    if (publicUrl) {
      await offerWebhook(team, publicUrl, cli.flag('yes')).catch((error: Error) => {
        warn(`the GitHub webhook was not set up: ${error.message}${error instanceof BmError && error.hint ? `. ${error.hint}` : ''}`);
      });
    }
  },
});

const stop = defineCommand({
  name: 'daemon stop',
  summary: 'Stop the daemon and the member runs it started',
  description: [
    'Sends the daemon SIGTERM: it stops taking events, stops its member runs in progress and',
    'exits. After BM_DAEMON_STOP_MS (default 30000) it gets SIGKILL, and bm ends the runs itself.',
    'The poll cursor and the journal are kept; the other daemon files are removed.',
  ].join('\n'),
  options: { team: teamOption },
  examples: ['bm daemon stop', 'bm daemon stop -t my-team'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const result = await stopDaemon(team.name, info);
    out(result.how === 'killed' ? `Daemon killed with SIGKILL (PID ${result.pid}): it ignored SIGTERM` : `Daemon stopped (PID ${result.pid})`);
  },
});

const status = defineCommand({
  name: 'daemon status',
  summary: 'Show whether the daemon runs, its mode and counters',
  description: [
    'Mode, port or interval, uptime, last event time, events received (and why some were ignored),',
    'runs launched and in progress, and GitHub\'s last delivery to the webhook `bm daemon start` set',
    'up. -v adds the team\'s repositories, board and identity, and the table of which events caused',
    'by the team\'s own identity wake it. Always exits 0.',
  ].join('\n'),
  options: { team: teamOption, json: jsonOption, verbose: { type: 'boolean', short: 'v', description: 'also show repositories, board, identity and wake rules' } },
  examples: ['bm daemon status', 'bm daemon status -v', 'bm daemon status --json'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const s = daemonStatus(team.name);
    if (s.running) s.webhook = await webhookHealth(team);
    if (cli.flag('json')) printJson(s);
    else printStatus(team.name, s, cli.flag('verbose'));
  },
});

const log = defineCommand({
  name: 'daemon log',
  summary: 'Print or follow the daemon log',
  description: 'Prints BM_HOME/daemon/<team>/daemon.log (the last -n lines), or follows it with -f. Member runs log to `bm logs <member>`.',
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until interrupted' },
    lines: { type: 'string', short: 'n', value: 'N', description: 'how many lines to print (default 50)' },
    team: teamOption,
  },
  examples: ['bm daemon log', 'bm daemon log -f', 'bm daemon log -n 200'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const file = daemonPaths(team.name).log;
    const count = Number(cli.string('lines') ?? 50);
    if (!Number.isInteger(count) || count < 0) throw new UsageError(`Invalid line count '${cli.string('lines')}'`, 'Use a whole number.');
    if (!existsSync(file) && !cli.flag('follow')) throw new BmError(`No daemon log for team '${team.name}' yet`, 'Start the daemon with `bm daemon start`.');
    const end = positionOf(file);
    for (const line of tailLines(file, count, 4 * 1024 * 1024, end.offset)) out(line);
    // Follows until the operator interrupts bm.
    if (cli.flag('follow')) await new Promise<never>(() => followAppends([file], (_, data) => write(1, data), { from: new Map([[file, end]]) }));
  },
});

const launcher = defineCommand({
  name: 'daemon launcher',
  summary: 'Launch member runs for the daemon (started by `bm daemon run`)',
  hidden: true,
  options: { team: teamOption },
  examples: ['bm daemon launcher -t my-team'],
  async run() {
    process.exit(await runLauncher());
  },
});

const run = defineCommand({
  name: 'daemon run',
  summary: 'Run the daemon in the foreground (what `bm daemon start` launches)',
  hidden: true,
  options: {
    mode: { type: 'string', value: 'MODE', description: 'webhook or poll' },
    port: { type: 'string', value: 'PORT', description: 'webhook port' },
    bind: { type: 'string', value: 'ADDR', description: 'address to listen on' },
    interval: { type: 'string', value: 'SECONDS', description: 'poll interval' },
    tunnel: { type: 'string', value: 'URL', description: 'smee.io channel URL' },
    'max-runs': { type: 'string', value: 'N', description: 'most member runs at once' },
    'max-runs-per-hour': { type: 'string', value: 'N', description: 'most runs per member in any hour' },
    team: teamOption,
  },
  examples: ['bm daemon run -t my-team --mode webhook --port 8484'],
  async run(cli) {
    const mode = parseMode(cli.string('mode'));
    // `bm daemon start` passes the URL in the environment (never argv); members must not inherit it.
    const tunnel = parseUrl('tunnel', cli.string('tunnel') ?? process.env[TUNNEL_ENV], mode);
    delete process.env[TUNNEL_ENV];
    delete process.env.MALLOC_MMAP_THRESHOLD_;
    const code = await runDaemon({
      team: cli.string('team'),
      mode,
      port: parsePort(cli.string('port'), DEFAULT_PORT),
      bind: cli.string('bind') ?? DEFAULT_BIND,
      interval: parseInterval(cli.string('interval')),
      maxRuns: parseMaxRuns(cli.string('max-runs')),
      maxRunsPerHour: parseMaxRuns(cli.string('max-runs-per-hour'), DEFAULT_MAX_RUNS_PER_HOUR),
      ...(tunnel ? { tunnel } : {}),
    });
    // Library handles (HTTP keep-alive, the tunnel's stream) must not keep a stopped daemon alive.
    process.exit(code);
  },
});

export const command = defineGroup({
  name: 'daemon',
  summary: 'Start, stop and inspect the daemon that wakes members on GitHub events',
  description: 'One daemon per team. It runs every member one-shot when GitHub reports relevant work (webhooks or polling).',
  subcommands: [start, stop, status, log, run, launcher],
});

if (isMain(import.meta.url, command)) void runMain(command);
