/**
 * The daemon line of `bm status`: whether the team's daemon runs, and how (read from its pid
 * and daemon.json files; see lib/daemon/). Its shape is part of `bm status --json`.
 */
import { daemonStatus } from '../daemon/files.ts';

/** Whether the team's daemon runs, and how. */
export interface DaemonInfo {
  running: boolean;
  pid: number | null;
  mode: 'webhook' | 'poll' | null;
  port?: number;
  interval?: number;
  startedAt?: string | null;
  lastEventAt?: string | null;
  events?: number;
  launches?: number;
  inProgress?: number;
}

/** The daemon of `team` (read-only: a dead daemon's files are left for `bm daemon` to clean). */
export function daemonInfo(team: string): DaemonInfo {
  const s = daemonStatus(team, { clean: false });
  if (!s.running) return { running: false, pid: null, mode: null };
  return {
    running: true,
    pid: s.pid,
    mode: s.mode,
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.mode === 'poll' && s.interval !== undefined ? { interval: s.interval } : {}),
    startedAt: s.startedAt,
    lastEventAt: s.lastEventAt,
    events: s.events,
    launches: s.launches,
    inProgress: s.inProgress,
  };
}
