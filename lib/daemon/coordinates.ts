/**
 * Where the team lives on GitHub, learned once when the daemon starts: its repositories (from
 * the config and the manifest), its identity (`GET /user`: the login its token, and so its
 * members, act under) and its board (the Projects v2 board `bm init` made, found by title).
 * A lookup that fails is logged and left unknown: the daemon still runs, with the rule that
 * needs it weaker (an unknown identity wakes the team on its own comments too).
 */
import { authenticatedLogin, findTeamBoard, type GitHub, type TeamBoard } from '../github.ts';
import type { TeamManifest } from '../schema.ts';
import { teamRepos, type TeamCoordinates } from './events.ts';
import type { Logger } from './log.ts';

/** The team's coordinates and its board. */
export interface ResolvedTeam {
  coordinates: TeamCoordinates;
  board: TeamBoard | null;
}

/** Resolves the coordinates of team `name` (GitHub repo `repo`), asking GitHub through `gh` when there is one. */
export async function resolveCoordinates(name: string, repo: string | undefined, manifest: TeamManifest, gh: GitHub | undefined, log: Logger): Promise<ResolvedTeam> {
  const coordinates: TeamCoordinates = { repos: teamRepos(repo, manifest), board: null, statusField: null, identity: null };
  if (!gh || !repo) return { coordinates, board: null };
  const [identity, board] = await Promise.all([
    authenticatedLogin(gh).catch((error: Error) => {
      log.warn(`cannot learn the team's GitHub identity (${error.message}); its own comments and pushes will wake members too`);
      return null;
    }),
    findTeamBoard(gh, repo.split('/')[0], `${name} Board`).catch((error: Error) => {
      log.warn(`cannot find the team's board (${error.message}); board moves will not wake members`);
      return null;
    }),
  ]);
  coordinates.identity = identity;
  if (board) {
    coordinates.board = board.id;
    coordinates.statusField = board.statusFieldId;
  }
  return { coordinates, board };
}
