/**
 * The long-lived daemon process (`bm daemon run`, started detached by `bm daemon start`).
 *
 * It takes the team's daemon lock, records itself (daemon.pid, daemon.json), ends runs a
 * killed predecessor left behind, starts its launcher helper (launcher.ts), then receives work
 * (webhook server plus reconcile poll, or the poller alone) and wakes the members through the
 * scheduler. Work a predecessor acknowledged but did not finish (journal.ts) wakes them once at
 * start. SIGTERM, SIGINT or SIGHUP stop intake, stop member runs in progress (all at once), let
 * the helper go, remove its files except the poll cursor and the journal, and exit 0.
 */
import { mkdirSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { TeamEntry } from '../schema.ts';
import { createGitHub, type GitHub } from '../github.ts';
import { deployedElsewhere } from '../lifecycle/formation.ts';
import { memberEnv } from '../lifecycle/start.ts';
import { slotsOf, type Slot } from '../lifecycle/slots.ts';
import { isValidName } from '../names.ts';
import { BmError } from '../output.ts';
import { startTimeOf, timings } from '../proc.ts';
import { requireSchemaV2 } from '../schema.ts';
import { loadTeam, loadTeamFromFlag } from '../team.ts';
import { isProvisioned } from '../workspaces.ts';
import { bmCommand, type StartRequest } from './control.ts';
import { BoardPoller } from './board.ts';
import { budgetWindowMs, RunBudget, WorkTracker } from './budget.ts';
import { resolveCoordinates } from './coordinates.ts';
import { judge, SELF_RULES, wakeEvents, webhookFacts, type IgnoreReason } from './events.ts';
import { daemonPaths, EXIT_ALREADY_RUNNING, readPidFile, removeRuntimeFiles, writePidFile, writeRecord, type DaemonRecord } from './files.ts';
import { Journal, lastWorkAt, readJournal, recentDeliveries, unfinishedWork } from './journal.ts';
import { Rejections } from './rejections.ts';
import { Launcher } from './launcher.ts';
import { acquireDaemonLock } from './lock.ts';
import { Logger, RotatingFile, maxLogBytes } from './log.ts';
import { watchNotices } from './notices.ts';
import { Poller, reconcileSeconds } from './poller.ts';
import { backoffPolicy, reapOrphanRuns, runNice, Scheduler, type WakeReason } from './scheduler.ts';
import { createWebhookServer, listen, probeHealth, type Delivery, type Verdict } from './server.ts';
import { signatureSelfTest } from './signature.ts';
import { Tunnel } from './tunnel.ts';

/** What `bm daemon run` is asked to do: what `bm daemon start` asked for, with `-t` unresolved. */
export interface DaemonOptions extends Omit<StartRequest, 'team'> {
  /** `-t` value (default team when undefined). */
  team: string | undefined;
}

/** Env knob: longest one-shot run before it is stopped (default 1 hour). */
export function runTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_DAEMON_RUN_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : 60 * 60 * 1000;
}

function stampOf(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return '-';
  }
}

/**
 * The team's member workspaces, parsed again only when a file they come from changed: the
 * manifest, the members directory, a member's manifest, or a workspace being provisioned. The
 * files are looked at (stat calls, no YAML) at most once per `checkMs`, so a burst of
 * wake-ups, while deliveries are waiting for answers, costs next to nothing.
 */
function slotReader(entry: TeamEntry, checkMs = 1000): () => Slot[] {
  let slots: Slot[] = [];
  let files: string[] = [];
  let stamp: string | undefined;
  let checkedAt = 0;
  const fingerprint = () => [...files.map(stampOf), ...slots.map((s) => (isProvisioned(s.workspace) ? 1 : 0))].join('|');
  return () => {
    const now = Date.now();
    if (stamp !== undefined && now - checkedAt < checkMs) return slots;
    checkedAt = now;
    if (stamp === undefined || fingerprint() !== stamp) {
      const team = loadTeam(entry);
      slots = slotsOf(team);
      const members = [...new Set(slots.map((s) => s.member))];
      files = [team.paths.manifest, team.paths.members, ...members.map((m) => path.join(team.paths.member(m), 'botminter.yml'))];
      stamp = fingerprint();
    }
    return slots;
  };
}

/** Runs the daemon until a stop signal; resolves to the process exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const team = loadTeamFromFlag(options.team);
  requireSchemaV2(team.name, team.schemaVersion);
  const elsewhere = deployedElsewhere(team);
  if (elsewhere) throw elsewhere;
  const paths = daemonPaths(team.name);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const secret = team.entry.credentials?.webhook_secret ?? '';
  const token = team.entry.credentials?.gh_token || process.env.GH_TOKEN;
  const log = new Logger(new RotatingFile(paths.log, maxLogBytes()), [secret, token]);

  const lock = await acquireDaemonLock(paths.sock);
  if (!lock) {
    const holder = readPidFile(paths);
    log.error(`a daemon for team '${team.name}' is already running${holder ? ` (PID ${holder.pid})` : ''}; this one exits`);
    return EXIT_ALREADY_RUNNING;
  }
  writePidFile(paths, { pid: process.pid, started: startTimeOf(process.pid) });
  const runEnv = memberEnv(team.entry, process.env);
  const launcher = new Launcher({ command: bmCommand(['daemon', 'launcher', '-t', team.name]), env: runEnv, log });
  const fail = async (message: string): Promise<number> => {
    log.error(message);
    await launcher.close();
    removeRuntimeFiles(paths);
    await lock.release();
    return 1;
  };

  const time = timings();
  const reaped = await reapOrphanRuns(team.name, time.stopKillMs, (line) => log.warn(line));
  if (reaped > 0) log.warn(`stopped ${reaped} run(s) left behind by a daemon that died`);

  if (options.mode === 'webhook' && !secret) {
    return fail(`team '${team.name}' has no webhook secret; webhook mode refuses unsigned deliveries`);
  }
  if (options.mode === 'webhook' && !signatureSelfTest()) {
    return fail("the HMAC-SHA256 self-test with GitHub's documented test vector failed; this runtime cannot verify webhook signatures");
  }
  let gh: GitHub | undefined;
  const repo = team.entry.github_repo;
  if (repo && token) {
    gh = await createGitHub({ token });
  } else if (options.mode === 'poll') {
    return fail(repo ? 'poll mode needs a GitHub token (team credentials or GH_TOKEN)' : `team '${team.name}' has no GitHub repository to poll`);
  }

  const past = readJournal(paths.journal);
  const seen = recentDeliveries(past);
  const unfinished = unfinishedWork(past);
  const journal = new Journal(paths.journal, maxLogBytes());
  const events = wakeEvents(team.manifest);
  const { coordinates, board } = await resolveCoordinates(team.name, repo, team.manifest, gh, log);
  if (coordinates.repos.size > 0) {
    log.info(`waking for ${[...coordinates.repos].join(', ')}${board ? ` and board ${board.url}` : ''}; identity ${coordinates.identity ?? 'unknown'}`);
  }
  const startedAt = new Date().toISOString();
  const record: DaemonRecord = {
    team: team.name, mode: options.mode, pid: process.pid, bind: options.bind, port: null, interval: options.interval,
    tunnel: options.tunnel ?? null, tunnelState: null, startedAt, ready: false, events: 0, relevant: 0, launches: 0, inProgress: 0, lastEventAt: null,
    maxRuns: options.maxRuns, waiting: 0, backoff: [], wokenAt: {}, maxRunsPerHour: options.maxRunsPerHour, atCap: [], idle: [],
    ignored: 0, ignoredBy: {}, identity: coordinates.identity, repos: [...coordinates.repos], board: board ? { id: board.id, url: board.url, ownerType: board.ownerType } : null,
    rules: SELF_RULES.map((r) => ({ ...r, wakes: [...r.wakes] })),
  };
  const ignore = (reason: IgnoreReason) => {
    record.ignored = (record.ignored ?? 0) + 1;
    const by = (record.ignoredBy ??= {});
    by[reason] = (by[reason] ?? 0) + 1;
  };

  let tunnel: Tunnel | undefined;
  let boardPoller: BoardPoller | undefined;
  // Board moves come as webhooks only from an organisation (or App) hook: a repository hook, the
  // kind `bm daemon start` sets up, never delivers them. So the board is polled until a delivery
  // of the team's own board proves that such a hook reaches this daemon (in this run or before).
  const ofTeamBoard = (e: Record<string, unknown>) => e.event === 'projects_v2_item' && e.reason !== 'foreign-board' && e.reason !== 'foreign-repo';
  let boardHooked = past.some((e) => e.type === 'delivery' && ofTeamBoard(e));
  let writeTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(writeTimer);
    writeTimer = undefined;
    record.launches = runs.launches;
    record.inProgress = runs.inProgress;
    record.waiting = runs.waiting;
    record.backoff = runs.backoffs();
    record.wokenAt = Object.fromEntries([...runs.wokenAt].map(([key, ms]) => [key, new Date(ms).toISOString()]));
    record.atCap = budget.atCap();
    if (pollers[0]) record.effectiveInterval = pollers[0].effective;
    record.idle = work.idle();
    record.tunnelState = tunnel?.state ?? null;
    writeRecord(paths, record);
  };
  // Counters change on every delivery; batching the rewrite keeps a burst cheap.
  const changed = () => {
    writeTimer ??= setTimeout(flush, 100);
  };

  // It boots while the server starts listening; the daemon is ready only once it is.
  const helperReady = launcher.start().then(() => undefined, (error: Error) => error);
  const budget = new RunBudget(options.maxRunsPerHour, budgetWindowMs());
  const work = new WorkTracker();
  const runs = new Scheduler({
    team: team.name,
    slots: slotReader(team.entry),
    env: runEnv,
    launcher,
    runTimeoutMs: runTimeoutMs(),
    killAfterMs: time.stopKillMs,
    maxRuns: options.maxRuns,
    backoff: backoffPolicy(),
    budget,
    work,
    nice: runNice(),
    journal,
    log,
    // Runs start and end rarely: status shows them at once.
    changed: flush,
    elsewhere: () => deployedElsewhere(team)?.message,
  });

  // Wake-ups arriving in the same turn of the event loop are merged into one.
  let queued: WakeReason | undefined;
  const wake = (reason: WakeReason) => {
    if (queued) {
      // One event not of the team's own making is enough to make the merged wake-up not its own.
      if (!reason.self) queued.self = false;
      return;
    }
    queued = reason;
    setImmediate(() => {
      const next = queued;
      queued = undefined;
      if (next) runs.wake(next);
    });
  };

  const onDelivery = (d: Delivery): Verdict => {
    record.events++;
    record.lastEventAt = new Date().toISOString();
    changed();
    const base = { type: 'delivery', id: d.id, event: d.event, ...(d.action ? { action: d.action } : {}) };
    if (seen.has(d.id)) {
      journal.add({ ...base, outcome: 'duplicate' });
      return 'duplicate';
    }
    seen.add(d.id);
    if (d.event === 'ping') {
      const hook = d.payload.hook as { config?: { content_type?: string } } | undefined;
      const type = hook?.config?.content_type;
      log.info(`ping ${d.id}: the webhook is set up${type ? ` (content type ${type})` : ''}`);
      journal.add({ ...base, outcome: 'ping' });
      return 'ping';
    }
    const verdict = judge(webhookFacts(d.event, d.payload), events, coordinates);
    if (!boardHooked && ofTeamBoard({ event: d.event, reason: verdict.wake ? undefined : verdict.reason })) {
      boardHooked = true;
      if (boardPoller && board?.ownerType !== 'User') {
        boardPoller.stop();
        boardPoller = undefined;
        if (record.board) record.board.polled = false;
        log.info(`an organisation hook delivers the moves of board ${board?.url ?? ''}; the board poll stops`);
      }
    }
    if (!verdict.wake) {
      ignore(verdict.reason);
      journal.add({ ...base, outcome: 'ignored', reason: verdict.reason, why: verdict.detail });
      return 'ignored';
    }
    record.relevant++;
    journal.add({ ...base, outcome: 'wake', ...(verdict.self ? { self: true } : {}) });
    wake({ what: `${d.event}${d.action ? ` ${d.action}` : ''} (delivery ${d.id})`, at: d.receivedAt, delivery: d.id, self: verdict.self });
    return 'wake';
  };

  let server: Server | undefined;
  const rejections = new Rejections(log);
  if (options.mode === 'webhook') {
    server = createWebhookServer({
      secret,
      onDelivery,
      onRejected: (status, reason, id) => {
        rejections.note(status, reason, id);
        record.rejected = rejections.total;
        changed();
      },
      health: () => ({ team: team.name, mode: options.mode, uptimeSeconds: Math.round((Date.now() - Date.parse(startedAt)) / 1000), events: record.events, launches: runs.launches, inProgress: runs.inProgress }),
    });
    try {
      record.port = await listen(server, options.port, options.bind);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? `port ${options.port} on ${options.bind} is already in use` : `cannot listen on ${options.bind}:${options.port} (${(error as Error).message})`;
      return fail(why);
    }
    log.info(`webhook mode: listening on http://${options.bind}:${record.port}/webhook`);
    // Like a load balancer's probe: it proves the server answers (and compiles the request path
    // before the first delivery rather than during it).
    const unhealthy = await probeHealth(options.bind, record.port);
    if (unhealthy) log.warn(`the daemon's own health probe failed (${unhealthy}); GitHub's deliveries may fail too`);
    if (options.tunnel) {
      tunnel = new Tunnel({ source: options.tunnel, target: `http://${options.bind === '0.0.0.0' ? '127.0.0.1' : options.bind}:${record.port}/webhook`, log, changed });
      tunnel.start();
    }
  }

  // One poller per team repository: the team repo (whose interval status shows) and each
  // project repo on GitHub. A webhook of the team repo does not see a project repo's events.
  const pollers: Poller[] = [];
  if (gh && repo) {
    const role = options.mode === 'poll' ? 'poll' : 'reconcile';
    const interval = options.mode === 'poll' ? options.interval : reconcileSeconds();
    const polled = [repo, ...[...coordinates.repos].filter((r) => r !== repo.toLowerCase())];
    for (const slug of polled) {
      pollers.push(new Poller({
        gh, repo: slug, intervalSeconds: interval, cursorFile: slug === repo ? paths.poll : paths.pollOf(slug),
        events, coordinates, log, journal, role,
        wake: (what, self) => wake({ what, at: performance.now(), self }),
        seen: (judged) => {
          record.events += judged.length;
          record.lastEventAt = new Date().toISOString();
          for (const j of judged) {
            if (j.wake) record.relevant++;
            else ignore(j.reason);
          }
          changed();
        },
      }));
    }
    for (const p of pollers) p.start();
    log.info(`${role} of ${polled.join(', ')} every ${interval}s (or GitHub's X-Poll-Interval when longer)`);
  } else {
    log.warn(`no reconcile poll: team '${team.name}' has no GitHub repository or token; a lost delivery is not recovered`);
  }
  // The Events API reports no board move at all, and no webhook reports one of a user-owned board.
  if (gh && board && (options.mode === 'poll' || board.ownerType === 'User' || !boardHooked)) {
    const interval = options.mode === 'poll' ? options.interval : reconcileSeconds();
    boardPoller = new BoardPoller({
      gh, board: board.id, intervalSeconds: interval, stateFile: paths.board, log, journal,
      wake: (what) => wake({ what, at: performance.now() }),
      seen: (moves) => {
        record.events += moves;
        record.relevant += moves;
        record.lastEventAt = new Date().toISOString();
        changed();
      },
    });
    boardPoller.start();
    if (record.board) record.board.polled = true;
    log.info(`board poll of ${board.url} every ${interval}s`);
  }

  const helperFailed = await helperReady;
  if (helperFailed) {
    server?.close();
    for (const p of pollers) p.stop();
    boardPoller?.stop();
    await tunnel?.stop();
    return fail(`cannot start the launcher helper: ${helperFailed.message}`);
  }
  runs.warm();
  record.ready = true;
  flush();
  journal.add({ type: 'start', mode: options.mode, port: record.port, interval: options.interval, pid: process.pid });
  log.info(`daemon started for team '${team.name}' (PID ${process.pid}, ${options.mode} mode)`);
  const stopNotices = watchNotices(team.entry, paths, journal, log, Boolean(gh && repo));
  // The operator's local requests (lib/daemon/lock.ts): `bm answer` and friends wake a member.
  lock.serve((request) => {
    const members = Array.isArray(request.members) ? request.members.filter((m): m is string => typeof m === 'string' && isValidName(m)) : [];
    if (request.type !== 'wake' || members.length === 0) return { ok: false, error: 'expected {"type":"wake","members":[...]}' };
    const why = typeof request.why === 'string' ? request.why.slice(0, 200) : 'operator request';
    journal.add({ type: 'wake', members, why, origin: typeof request.origin === 'string' ? request.origin.slice(0, 20) : 'cli' });
    log.info(`woken by the operator (${why}): ${members.join(', ')}`);
    // Not through the per-tick coalescer: it keeps one reason per tick and would drop either this one or a delivery's.
    runs.wake({ what: why, at: performance.now(), members });
    return { ok: true, members };
  });
  if (unfinished) {
    log.warn(`${unfinished}; running every member once to finish it`);
    journal.add({ type: 'recover', why: unfinished });
    wake({ what: 'work left unfinished by the previous daemon', at: performance.now(), arrived: lastWorkAt(past) });
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info(`${why}; shutting down`);
      const unfinishedNow = runs.busy;
      server?.close();
      server?.closeAllConnections();
      for (const p of pollers) p.stop();
      boardPoller?.stop();
      stopNotices();
      await tunnel?.stop();
      await runs.stopAll();
      await launcher.close();
      clearTimeout(writeTimer);
      rejections.flush();
      journal.add({ type: 'stop', why, ...(unfinishedNow ? { unfinished: true } : {}) });
      journal.close();
      removeRuntimeFiles(paths);
      await lock.release();
      log.info('daemon stopped');
      resolve(code);
    };
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void shutdown(`received ${signal}`, 0));
    process.on('uncaughtException', (error) => {
      log.error(`unexpected error: ${error.stack ?? error.message}`);
      void shutdown('unexpected error', 1);
    });
    process.on('unhandledRejection', (error) => log.error(`unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`));
  });
}

/** Validates a port flag value. */
export function parsePort(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BmError(`Invalid port '${raw}'`, 'Use a number from 0 to 65535 (0 picks a free port).');
  return port;
}
