/**
 * Member slots: one per member workspace, the unit that start, stop, status and logs work on.
 *
 * A slot's key names it in state.json, topology.json, the status table and the log file name:
 * the member name when every member has one workspace (the team has zero or one project), and
 * `<member>/<project>` when the team has several projects. Its log is
 * `BM_HOME/logs/<team>/<member>.log`, or `<member>.<project>.log` for a multi-project key
 * (names never contain dots, so the two forms cannot collide).
 */
import { readAgentFile } from '../files.ts';
import { isValidName } from '../names.ts';
import { home, inside } from '../paths.ts';
import { projectsOf, readMember, type Team } from '../team.ts';
import { expectedWorkspaces } from '../workspaces.ts';

/** One member workspace. */
export interface Slot {
  key: string;
  member: string;
  project: string | null;
  role: string;
  workspace: string;
  /** True once `bm teams sync` has provisioned the workspace. */
  provisioned: boolean;
  log: string;
}

/** True when members have one workspace per project and keys carry the project. */
export function isMultiProject(team: Team): boolean {
  return projectsOf(team).length >= 2;
}

/** The key of a member workspace. */
export function slotKey(member: string, project: string | null, multiProject: boolean): string {
  return multiProject && project ? `${member}/${project}` : member;
}

/** The log file of a slot key. */
export function logFileOf(team: string, key: string): string {
  return home.memberLog(team, key.replace('/', '.'));
}

/** The member name of a key (`dev-alice/widget` → `dev-alice`). */
export function memberOfKey(key: string): string {
  return key.split('/')[0];
}

/**
 * A member's role. `bm status` runs on a latency budget, so a manifest whose `role:` is a plain
 * top-level name is read with one regex; anything fancier goes through the full YAML reader.
 */
function roleOf(team: Team, member: string): string {
  const text = readAgentFile(inside(team.paths.members, `${member}/botminter.yml`));
  const plain = text === undefined ? undefined : /^role:[ \t]*([a-z0-9-]+)[ \t]*(#.*)?$/m.exec(text);
  if (plain && isValidName(plain[1]) && text?.match(/^role:/gm)?.length === 1) return plain[1];
  return readMember(team, member).role;
}

/** The slots of the given members (default: every hired member), in member then project order. */
export function slotsOf(team: Team, members?: readonly string[]): Slot[] {
  const multi = isMultiProject(team);
  const roles = new Map<string, string>();
  const role = (member: string) => {
    if (!roles.has(member)) roles.set(member, roleOf(team, member));
    return roles.get(member) ?? member;
  };
  return expectedWorkspaces(team, members).map((w) => {
    const key = slotKey(w.member, w.project, multi);
    return { key, member: w.member, project: w.project, role: role(w.member), workspace: w.path, provisioned: w.exists, log: logFileOf(team.name, key) };
  });
}
