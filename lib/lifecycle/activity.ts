/**
 * What a running member is doing, for `bm status`: the issue it works on, its current hat, when
 * it last wrote output, and whether it has been quiet so long that it looks stalled.
 *
 * All of it comes from files the member writes anyway: its log (the time of the last output is
 * the log's modification time) and ralph's events file (`.ralph/current-events` names it; each
 * line is `{topic, payload, ts}`). The hat is the one whose `triggers` in the workspace's
 * ralph.yml take the last event's topic (`task.start`/`task.resume` start the `starting_event`'s
 * hat); the issue is the last `#N` an event payload mentions (hats hand over with
 * `ralph emit board.rescan "#12 ..."`). Every read is bounded: these files are agent-written.
 */
import { statSync } from 'node:fs';
import { readTextIfExists } from '../files.ts';
import { tailLines } from '../logs.ts';
import { keptByIdentity } from '../parse-cache.ts';
import { yaml } from '../yaml.ts';

/** A running member's activity. */
export interface Activity {
  /** Issue number it last mentioned in an event, or null. */
  issue: number | null;
  /** The hat handling its last event, or null. */
  hat: string | null;
  /** ISO time of its last output (its log's modification time), or null. */
  lastOutputAt: string | null;
  /** True when it produced no output for longer than the quiet time. */
  stalled: boolean;
}

/** The quiet time after which a running member counts as stalled: `BM_STALL_MINUTES` (default 30). */
export function stallMinutes(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_STALL_MINUTES);
  return Number.isFinite(value) && value > 0 ? value : 30;
}

interface Event {
  topic: string;
  payload: string;
}

function lastEvents(workspace: string): Event[] {
  // Joined by hand, as in lib/parse-cache.ts: status asks this of every running member.
  const name = readTextIfExists(`${workspace}/.ralph/current-events`, 4096)?.trim();
  const file = name && !name.startsWith('/') && !name.includes('..') ? `${workspace}/${name}` : `${workspace}/.ralph/events.jsonl`;
  return tailLines(file, 200).flatMap((line) => {
    try {
      const e = JSON.parse(line) as { topic?: unknown; payload?: unknown };
      return typeof e.topic === 'string' ? [{ topic: e.topic, payload: typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload ?? '') }] : [];
    } catch {
      return [];
    }
  });
}

function matches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  return pattern.includes('*') && new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(topic);
}

/** What `hatFor` needs of a ralph.yml: the starting event, and each hat with its triggers. */
interface HatTriggers {
  start: string | null;
  hats: [string, string[]][];
}

function hatTriggersOf(file: string): HatTriggers | undefined {
  // @speed-only-begin: a workspace's ralph.yml rarely changes, and parsing it needs the yaml package.
  return keptByIdentity(file, 'hat-triggers', parseHatTriggers);
  // @speed-only-end
}

function parseHatTriggers(text: string): HatTriggers | undefined {
  if (!text) return undefined;
  let config: { event_loop?: { starting_event?: unknown }; hats?: Record<string, { triggers?: unknown }> };
  try {
    config = (yaml().parse(text) ?? {}) as typeof config;
  } catch {
    return undefined;
  }
  const start = config.event_loop?.starting_event;
  return {
    start: start === undefined || start === null ? null : String(start),
    hats: Object.entries(config.hats ?? {}).map(([id, hat]) => [id, Array.isArray(hat?.triggers) ? hat.triggers.map(String) : []]),
  };
}

function hatFor(workspace: string, topic: string): string | null {
  const config = hatTriggersOf(`${workspace}/ralph.yml`);
  if (!config) return null;
  const wanted = topic === 'task.start' || topic === 'task.resume' ? config.start ?? topic : topic;
  return config.hats.find(([, triggers]) => triggers.some((t) => matches(t, wanted)))?.[0] ?? null;
}

/** The activity of a member running in `workspace` and logging to `log`. */
export function activityOf(workspace: string, log: string | null, now = Date.now(), quietMinutes = stallMinutes()): Activity {
  let lastOutputAt: string | null = null;
  try {
    if (log) lastOutputAt = statSync(log).mtime.toISOString();
  } catch {
    // No output yet.
  }
  const events = lastEvents(workspace);
  const last = events.at(-1);
  let issue: number | null = null;
  for (const e of [...events].reverse()) {
    const match = /#(\d{1,9})\b/.exec(e.payload);
    if (match) {
      issue = Number(match[1]);
      break;
    }
  }
  const stalled = lastOutputAt !== null && now - Date.parse(lastOutputAt) > quietMinutes * 60_000;
  return { issue, hat: last ? hatFor(workspace, last.topic) : null, lastOutputAt, stalled };
}
