/**
 * The console's GitHub side: the operator's inbox (lib/inbox.ts, the same reader as `bm inbox`)
 * and the board's column counts, for a team with GitHub coordinates.
 *
 * GitHub tells a laptop nothing when an issue changes, so this is read when the console starts,
 * right after each inbox action taken in the console, when the daemon's journal shows it heard
 * from GitHub (a delivery or a poll; at most every 10 s), and otherwise every
 * BM_CONSOLE_GITHUB_MS (default 60 s, the interval GitHub asks pollers to keep). Each read costs
 * one GraphQL request for the inbox and two for a board of up to 100 items.
 */
import type { BoardColumns } from '../board.ts';
import type { Inbox } from '../inbox.ts';
import { formatError } from '../output.ts';
import type { Team } from '../team.ts';

/** What the page shows of GitHub; null parts were not read (see `error`). */
export interface GitHubView {
  inbox: Inbox | null;
  board: BoardColumns | null;
  /** Why the last read failed, as `bm inbox` would say it. */
  error: string | null;
  /** When it was last read. */
  at: string | null;
}

/** The least time between two reads caused by the daemon's journal. */
const NUDGE_GAP_MS = 10_000;

function everyMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BM_CONSOLE_GITHUB_MS);
  return Number.isFinite(value) && value > 0 ? value : 60_000;
}

/** Keeps the team's GitHub view fresh; `onUpdate` is called after each read. */
export class GitHubWatch {
  view: GitHubView = { inbox: null, board: null, error: null, at: null };
  readonly #team: Team;
  readonly #onUpdate: () => void;
  readonly #timer: NodeJS.Timeout;
  #reading: Promise<void> | undefined;
  #again = false;
  #last = 0;

  constructor(team: Team, onUpdate: () => void) {
    this.#team = team;
    this.#onUpdate = onUpdate;
    this.#timer = setInterval(() => void this.read(), everyMs());
    this.#timer.unref();
  }

  /** Reads the inbox and the board now (once more after the read in progress, if any). */
  read(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          this.#last = Date.now();
          this.view = await this.#fetch();
          this.#onUpdate();
        } while (this.#again);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  /** The daemon heard from GitHub: read again unless that was done a moment ago. */
  nudge(): void {
    if (Date.now() - this.#last >= NUDGE_GAP_MS) void this.read();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #fetch(): Promise<GitHubView> {
    const { readInbox } = await import('../inbox.ts');
    const at = new Date().toISOString();
    const [inbox, board] = await Promise.allSettled([readInbox(this.#team.name), this.#board()]);
    const failed = [inbox, board].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return {
      inbox: inbox.status === 'fulfilled' ? inbox.value : null,
      board: board.status === 'fulfilled' ? board.value ?? null : null,
      error: failed ? formatError(failed.reason) : null,
      at,
    };
  }

  async #board(): Promise<BoardColumns | undefined> {
    const github = await import('../github.ts');
    const { readBoardColumns } = await import('../board.ts');
    const { owner } = github.parseRepoSlug(this.#team.entry.github_repo ?? '');
    const gh = await github.createGitHub({ token: this.#team.entry.credentials?.gh_token || process.env.GH_TOKEN });
    return readBoardColumns(gh, owner, `${this.#team.name} Board`);
  }
}
