/**
 * `bm hire ROLE [--name NAME]`: copies the role's skeleton from the team's profile into
 * `members/<role>-<name>/` in the team repo and commits it. Workspaces come later, from
 * `bm teams sync`.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { readAgentFile, writeFileAtomic } from '../lib/files.ts';
import { commitAll, git, gitMaybe } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out, printJson } from '../lib/output.ts';
import { loadProfile } from '../lib/profiles.ts';
import { requireKnownSchema } from '../lib/schema.ts';
import { loadTeamFromFlag, memberNames, withTeamLock, type Team } from '../lib/team.ts';
import { yaml } from '../lib/yaml.ts';

/** The lowest free two-digit suffix for `role`: 01, then 02 ... filling gaps left by fired members. */
function nextFreeName(team: Team, role: string): string {
  const taken = new Set(memberNames(team));
  for (let n = 1; ; n++) {
    const name = String(n).padStart(2, '0');
    if (!taken.has(`${role}-${name}`)) return name;
  }
}

/**
 * A member folder that is not in the team repo's last commit is what a hire killed before its
 * commit leaves behind: it is removed (from the index too) so the hire can be done again. Any
 * other folder in the way is refused.
 */
async function clearInterruptedHire(team: Team, dir: string, member: string, role: string): Promise<void> {
  const rel = path.relative(team.paths.repo, dir);
  const committed = (await gitMaybe(team.paths.repo, ['ls-tree', '--name-only', 'HEAD', '--', rel])) ?? '';
  if (committed !== '') throw new BmError(`Member directory '${member}' already exists`, 'Choose a different name with `--name`.');
  const manifest = readAgentFile(path.join(dir, 'botminter.yml'));
  if (manifest !== undefined && !new RegExp(`^role:\\s*${role}\\s*$`, 'm').test(manifest)) {
    throw new BmError(`${dir} is in the way: it is not committed and is not a ${role}`, `Move it out of the team repo (keep what you need), then run \`bm hire\` again.`);
  }
  await git(team.paths.repo, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', rel], { doing: 'unstaging an interrupted hire' });
  rmSync(dir, { recursive: true, force: true });
  info(`Removed ${rel}, left uncommitted by an interrupted hire; hiring again.`);
}

/** Copies the role skeleton into the member dir and records the member's name in its manifest. */
export async function hireMember(team: Team, role: string, requestedName?: string): Promise<{ member: string; role: string; name: string; dir: string }> {
  validateName('role', role);
  const profile = loadProfile(team.entry.profile);
  if (!profile.roles.includes(role)) {
    throw new BmError(`Role '${role}' not available in profile '${profile.name}'`, `Available roles: ${profile.roles.join(', ')}.`);
  }
  return withTeamLock(team, async () => {
    const name = requestedName === undefined ? nextFreeName(team, role) : validateName('member', requestedName);
    const member = validateName('member', `${role}-${name}`);
    const dir = team.paths.member(member);
    if (existsSync(dir)) await clearInterruptedHire(team, dir, member, role);
    try {
      cpSync(path.join(profile.dir, 'roles', role), dir, { recursive: true });
      const manifestFile = path.join(dir, 'botminter.yml');
      const doc = yaml().parseDocument(existsSync(manifestFile) ? readFileSync(manifestFile, 'utf8') : `role: ${role}\n`);
      doc.set('role', role);
      doc.set('name', name);
      writeFileAtomic(manifestFile, doc.toString());
      await commitAll(team.paths.repo, `feat: hire ${role} as ${name}`, [path.relative(team.paths.repo, dir)]);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return { member, role, name, dir };
  });
}

export const command = defineCommand({
  name: 'hire',
  summary: 'Hire a member: a role instance in the team repo',
  description: 'Copies the role from the team\'s profile into members/<role>-<name>/ and commits it.\nRun `bm teams sync` afterwards to create the member\'s workspace.',
  args: [{ name: 'role', description: 'a role of the team\'s profile (see `bm roles list`)', required: true, complete: 'roles' }],
  options: {
    name: { type: 'string', value: 'NAME', description: 'member name (default: the next free number, 01, 02, ...)' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm hire dev --name alice', 'bm hire reviewer'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    requireKnownSchema(team.name, team.schemaVersion);
    const hired = await hireMember(team, cli.args.role ?? '', cli.string('name'));
    if (cli.flag('json')) return printJson({ team: team.name, ...hired });
    out(`Hired ${hired.role} as ${hired.name} in team '${team.name}' (members/${hired.member}).`);
    out('Next: run `bm teams sync` to create its workspace.');
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
