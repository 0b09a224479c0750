/**
 * `bm projects add|list`: the code repositories (forks) the team works on. Each project gets
 * `projects/<name>/{knowledge,invariants}/` in the team repo and one workspace per member.
 */
import path from 'node:path';
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { writeFileAtomic } from '../lib/files.ts';
import { commitAll } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { BmError, out, printJson, printTable, redact } from '../lib/output.ts';
import { hasCredentials, loadTeamFromFlag, projectsOf, saveManifest, withTeamLock, type Team } from '../lib/team.ts';

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

const add = defineCommand({
  name: 'projects add',
  summary: 'Add a project (a fork the members work in)',
  args: [{ name: 'url', description: 'git URL of the project fork', required: true }],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm projects add https://github.com/acme/widget.git', 'bm projects add /srv/git/widget.git'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const project = await addProject(team, cli.args.url ?? '');
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

export const command = defineGroup({ name: 'projects', summary: 'Add and list the team\'s projects', subcommands: [add, list] });

if (isMain(import.meta, command)) void runMain(command);
