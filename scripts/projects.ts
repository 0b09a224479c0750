/**
 * `bm projects add|list|remove`: the code repositories (forks) the team works on. Each project
 * gets `projects/<name>/{knowledge,invariants}/` in the team repo and one workspace per member.
 * Removing a project archives its workspaces (they may hold unpushed work) unless `--purge`.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { writeFileAtomic } from '../lib/files.ts';
import { commitAll, git } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out, printJson, printTable, redact } from '../lib/output.ts';
import { isOurs } from '../lib/proc.ts';
import { readState, teamEntries } from '../lib/state.ts';
import { hasCredentials, loadTeamFromFlag, memberNames, projectsOf, saveManifest, withTeamLock, type Team } from '../lib/team.ts';

const GIT_URL = /^(https?:\/\/[^\s]+|ssh:\/\/[^\s]+|git@[^\s:]+:[^\s]+|file:\/\/[^\s]+|\/[^\s]*)$/;

/** The project name a fork URL implies: its last path segment without `.git`. */
export function projectNameFromUrl(url: string): string {
  if (hasCredentials(url)) {
    // It would be committed to the team repo, its history, every workspace and the parse cache.
    throw new BmError(`'${redact(url)}' holds credentials`, 'Give the URL without them (https://host/owner/repo.git): bm hands git the team\'s token from the operator config (or GH_TOKEN) itself.');
  }
  if (!GIT_URL.test(url)) {
    throw new BmError(`'${redact(url)}' is not a git URL`, 'Use https://host/owner/repo.git, git@host:owner/repo.git, file:///path or an absolute path.');
  }
  const base = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  return validateName('project', base.replace(/\.git$/, '').toLowerCase());
}

/** Adds a project to the team manifest and creates its knowledge dirs; commits. */
export async function addProject(team: Team, url: string): Promise<{ name: string; forkUrl: string }> {
  const name = projectNameFromUrl(url);
  return withTeamLock(team, async () => {
    if (projectsOf(team).some((p) => p.name === name)) {
      throw new BmError(`Project '${name}' already exists in team '${team.name}'`, 'See `bm projects list`.');
    }
    const doc = team.manifestDoc;
    const entry = doc.createNode({ name, fork_url: url });
    const existing = doc.get('projects');
    if (existing && typeof existing === 'object' && 'add' in existing) (existing as { add(v: unknown): void }).add(entry);
    else doc.set('projects', doc.createNode([{ name, fork_url: url }]));
    saveManifest(team);
    for (const sub of ['knowledge', 'invariants', 'coding-agent/agents', 'coding-agent/skills']) {
      // The team repo is untrusted: a committed symlink at projects/<name> must not lead these writes out.
      writeFileAtomic(path.join(team.paths.project(name), sub, '.gitkeep'), '', 0o644, { within: team.paths.repo });
    }
    await commitAll(team.paths.repo, `feat: add project ${name}`, ['botminter.yml', path.relative(team.paths.repo, team.paths.project(name))]);
    return { name, forkUrl: url };
  });
}

/** Fails with git's own reason when `url` is not a reachable git repository. */
async function checkReachable(team: Team, url: string): Promise<void> {
  try {
    await git(team.paths.repo, ['ls-remote', '--heads', '--', url], { token: team.entry.credentials?.gh_token || process.env.GH_TOKEN, doing: `checking ${url}` });
  } catch (error) {
    throw new BmError(`Cannot add '${url}': git cannot read it (${(error as Error).message.replace(/^git failed while checking [^:]*: /, '')})`,
      'Check the URL and your access (`git ls-remote URL` shows the same), or pass --no-check to add it anyway.');
  }
}

const add = defineCommand({
  name: 'projects add',
  summary: 'Add a project (a fork the members work in)',
  description: 'Checks first that git can read the URL (`git ls-remote`), and shows git\'s own reason when it cannot.',
  args: [{ name: 'url', description: 'git URL of the project fork', required: true }],
  options: { 'no-check': { type: 'boolean', description: 'add the URL without checking that git can read it (offline)' }, team: teamOption, json: jsonOption },
  examples: ['bm projects add https://github.com/acme/widget.git', 'bm projects add /srv/git/widget.git'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const url = cli.args.url ?? '';
    projectNameFromUrl(url);
    if (!cli.flag('no-check')) await checkReachable(team, url);
    const project = await addProject(team, url);
    if (cli.flag('json')) return printJson({ team: team.name, ...project });
    out(`Added project '${project.name}' to team '${team.name}'.`);
    out('Next: run `bm teams sync` to give every member a workspace on it.');
  },
});

const list = defineCommand({
  name: 'projects list',
  summary: 'List the team\'s projects',
  options: { team: teamOption, json: jsonOption },
  examples: ['bm projects list', 'bm projects list --json'],
  run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const projects = projectsOf(team).map((p) => ({ name: p.name, forkUrl: p.fork_url }));
    if (cli.flag('json')) return printJson(projects);
    if (projects.length === 0) return out('No projects yet. Run `bm projects add <git-url>` to add one.');
    printTable(['Project', 'Fork URL'], projects.map((p) => [p.name, p.forkUrl]));
  },
});

/** Members running in a workspace of `project` (bm start or the daemon): removing it under them is refused. */
function runningOn(team: Team, project: string): string[] {
  return [...teamEntries(readState(), team.name).values()].filter((e) => e.project === project && isOurs(e.pid, e.started)).map((e) => e.member);
}

const remove = defineCommand({
  name: 'projects remove',
  summary: 'Remove a project; its workspaces are archived (or deleted with --purge)',
  description: [
    'Removes the project from the team manifest and its projects/<name>/ folder from the team repo (one',
    'commit; git history keeps it). Each member\'s workspace on it moves to {team dir}/.archive/ (it may hold',
    'unpushed work); --purge deletes them instead. Refused while a member runs on the project.',
  ].join('\n'),
  args: [{ name: 'project', description: 'project name (see `bm projects list`)', required: true, complete: 'projects' }],
  options: { purge: { type: 'boolean', description: 'delete the workspaces instead of archiving them' }, team: teamOption, json: jsonOption },
  examples: ['bm projects remove widget', 'bm projects remove widget --purge'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const name = validateName('project', cli.args.project ?? '');
    if (!projectsOf(team).some((p) => p.name === name)) {
      throw new BmError(`Project '${name}' not found in team '${team.name}'`, `Projects: ${projectsOf(team).map((p) => p.name).join(', ') || 'none'}.`);
    }
    const running = runningOn(team, name);
    if (running.length) throw new BmError(`Members run on project '${name}': ${running.join(', ')}`, `Stop them first: \`bm stop ${running.join(' ')}\` (and \`bm daemon stop\` if the daemon runs them).`);
    const purge = cli.flag('purge');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const moved: { member: string; from: string; to: string | null }[] = [];
    await withTeamLock(team, async () => {
      const doc = team.manifestDoc;
      const index = projectsOf(team).findIndex((p) => p.name === name);
      doc.deleteIn(['projects', index]);
      saveManifest(team);
      rmSync(team.paths.project(name), { recursive: true, force: true });
      await commitAll(team.paths.repo, `feat: remove project ${name}`, ['botminter.yml', path.relative(team.paths.repo, team.paths.project(name))]);
      for (const member of memberNames(team)) {
        const workspace = path.join(team.paths.memberRoot(member), name);
        if (!existsSync(workspace)) continue;
        if (purge) {
          rmSync(workspace, { recursive: true, force: true });
          moved.push({ member, from: workspace, to: null });
          continue;
        }
        const target = path.join(team.paths.dir, '.archive', `${name}-${stamp}`, member);
        mkdirSync(path.dirname(target), { recursive: true });
        renameSync(workspace, target);
        moved.push({ member, from: workspace, to: target });
      }
    });
    if (cli.flag('json')) return printJson({ team: team.name, project: name, purged: purge, workspaces: moved });
    for (const m of moved) info(m.to ? `${m.member}: workspace archived at ${m.to}` : `${m.member}: workspace deleted`);
    out(`Removed project '${name}' from team '${team.name}'${moved.length ? `; ${moved.length} workspace(s) ${purge ? 'deleted' : 'archived'}` : ''}.`);
  },
});

export const command = defineGroup({ name: 'projects', summary: 'Add, list and remove the team\'s projects', subcommands: [add, list, remove] });

if (isMain(import.meta.url, command)) void runMain(command);
