/**
 * `bm init`: creates a team from a profile.
 *
 * The team repo is built in a staging directory next to the final one. Remote steps run after it
 * (GitHub repo, labels, board: each idempotent), the push comes last, and only then is the
 * staging directory renamed into place and the team registered. A failure at any point leaves
 * no team dir and no registration, so the same command can simply be run again.
 *
 * A `kill -9` cannot clean up after itself, so a re-run does: staging folders of dead inits
 * are removed, a remote that already holds exactly the tree being pushed (the push had
 * finished) is taken as it is, and a team dir renamed into place but not yet registered
 * (marked by `.bm-init-done`) is registered.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, jsonOption, runMain } from '../lib/cli.ts';
import { loadConfig, registerTeam, updateConfig } from '../lib/config.ts';
import { gatesOf, parseGateList, setGates } from '../lib/gates.ts';
import { readAgentFile } from '../lib/files.ts';
import { commitAll, git, gitMaybe, initRepo, push, setRemote } from '../lib/git.ts';
import { validateName } from '../lib/names.ts';
import { BmError, UsageError, info, out, printJson, redact } from '../lib/output.ts';
import { bmHome, builtins, expandHome, home, teamPaths } from '../lib/paths.ts';
import { loadProfile, type Profile } from '../lib/profiles.ts';
import { ask, askSecret, canPrompt, choose, closePrompts, confirm } from '../lib/prompt.ts';
import type { TeamEntry } from '../lib/schema.ts';
import { isOurs, startTimeOf } from '../lib/proc.ts';
import { hasCredentials, loadTeam, type Team } from '../lib/team.ts';
import { hireMember } from './hire.ts';
import { addProject, projectNameFromUrl } from './projects.ts';

/** Everything init needs, gathered from flags or the wizard and validated before any write. */
interface InitPlan {
  team: string;
  profile: Profile;
  workzone: string;
  githubRepo?: string;
  remote?: string;
  projects: string[];
  hires: { role: string; name?: string }[];
  token?: string;
  /** `--human-gates`: the gates to switch on (undefined keeps the profile's defaults). */
  humanGates?: string;
}

function parseHire(spec: string): { role: string; name?: string } {
  const [role, name] = spec.split(':');
  return { role: validateName('role', role), name: name === undefined ? undefined : validateName('member', name) };
}

function validatePlan(plan: InitPlan): void {
  validateName('team', plan.team);
  const registered = loadConfig().teams?.find((t) => t.name === plan.team);
  if (registered) throw new BmError(`Team '${plan.team}' is already registered (at ${registered.path})`, 'Pick another --team-name, or use the existing team.');
  const teamDir = path.join(plan.workzone, plan.team);
  if (existsSync(teamDir) && !existsSync(path.join(teamDir, DONE_MARKER))) throw new BmError(`Team directory ${teamDir} already exists`, 'Pick another --team-name or --workzone, or move that directory away.');
  for (const hire of plan.hires) {
    if (!plan.profile.roles.includes(hire.role)) {
      throw new BmError(`Role '${hire.role}' not available in profile '${plan.profile.name}'`, `Available roles: ${plan.profile.roles.join(', ')}.`);
    }
  }
  if (plan.humanGates !== undefined) parseGateList(plan.humanGates, plan.profile.manifest);
  const projectNames = plan.projects.map(projectNameFromUrl);
  const duplicate = projectNames.find((n, i) => projectNames.indexOf(n) !== i);
  if (duplicate) throw new BmError(`Project '${duplicate}' is given twice`, 'Pass each --project once.');
  if (plan.githubRepo) {
    if (!plan.token) throw new BmError('No GitHub token', 'Set GH_TOKEN to a token with the `repo` and `project` scopes, or pass --no-github.');
  }
  if (plan.remote?.startsWith('-')) throw new BmError(`'${plan.remote}' is not a git URL`, 'Pass --remote a URL or path.');
  if (plan.remote && hasCredentials(plan.remote)) throw new BmError(`'${redact(plan.remote)}' holds credentials`, 'Give --remote without them: bm hands git the team\'s token itself (GH_TOKEN).');
}

function ensureWritableWorkzone(workzone: string): void {
  try {
    // BM_HOME holds tokens and logs: private from the start (the default workzone is inside it).
    mkdirSync(bmHome(), { recursive: true, mode: 0o700 });
    mkdirSync(workzone, { recursive: true });
    accessSync(workzone, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new BmError(`Cannot write to workzone ${workzone} (${code})`, 'Choose another --workzone, or fix its permissions.');
  }
}

/** Lays out the team repo in `repo` from the profile plus bm's skills and formations. */
function writeTeamRepo(repo: string, profile: Profile): void {
  mkdirSync(repo, { recursive: true });
  cpSync(profile.dir, repo, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(profile.dir, src);
      return rel !== 'roles' && !rel.startsWith(`roles${path.sep}`) && rel !== '.schema' && !rel.startsWith(`.schema${path.sep}`);
    },
  });
  if (profile.manifest.schema_version !== 'v1') {
    cpSync(builtins.skills, path.join(repo, 'skills'), { recursive: true });
    cpSync(builtins.formations, path.join(repo, 'formations'), { recursive: true });
  }
  for (const dir of ['members', 'projects', 'knowledge', 'invariants']) {
    mkdirSync(path.join(repo, dir), { recursive: true });
    if (!existsSync(path.join(repo, dir, '.gitkeep'))) writeFileSync(path.join(repo, dir, '.gitkeep'), '');
  }
}

async function pushWhenEmpty(repo: string, url: string, token?: string): Promise<void> {
  await setRemote(repo, 'origin', url);
  const refs = await git(repo, ['ls-remote', '--heads', '--', url], { token, doing: `checking ${url}` });
  if (refs !== '') {
    // An init killed after its push: the remote holds the very tree built now. Take it.
    await git(repo, ['fetch', '-q', 'origin', 'main'], { token, doing: `fetching ${url}` }).catch(() => undefined);
    const theirs = await gitMaybe(repo, ['rev-parse', '--verify', '-q', 'FETCH_HEAD^{tree}']);
    if (theirs !== undefined && theirs === (await git(repo, ['rev-parse', 'HEAD^{tree}']))) {
      await git(repo, ['reset', '-q', '--hard', 'FETCH_HEAD']);
      await git(repo, ['branch', '-q', '--set-upstream-to=origin/main', 'main']);
      info(`${url} already holds this team repo (an earlier \`bm init\` pushed it); using it.`);
      return;
    }
    throw new BmError(`The remote ${url} already has commits; bm will not overwrite it`, 'Use a new, empty repository (or delete this one) and run `bm init` again.');
  }
  await push(repo, 'origin', 'main', token);
}

/** Inside a staging folder: the pid and start time of the init building it. */
const OWNER_FILE = '.bm-init-owner';
/** In a team dir renamed into place whose registration has not happened yet. */
const DONE_MARKER = '.bm-init-done';

/** Removes the staging folders of inits of `team` that died (their owner is gone). */
function cleanStaleStaging(workzone: string, team: string): void {
  for (const name of readdirSync(workzone)) {
    if (!name.startsWith(`.${team}.init-`)) continue;
    const dir = path.join(workzone, name);
    const [pid, started] = (readAgentFile(path.join(dir, OWNER_FILE)) ?? '').split(' ');
    if (isOurs(Number(pid), started)) continue;
    // Without an owner file it was killed right after mkdtemp, or is about to write it.
    if (pid === '' && Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    rmSync(dir, { recursive: true, force: true });
    info(`Removed ${dir}, left by an interrupted \`bm init\`.`);
  }
}

async function runInit(plan: InitPlan, json: boolean): Promise<void> {
  ensureWritableWorkzone(plan.workzone);
  const teamDir = path.join(plan.workzone, plan.team);
  cleanStaleStaging(plan.workzone, plan.team);
  const entry: TeamEntry = {
    name: plan.team,
    path: teamDir,
    profile: plan.profile.name,
    github_repo: plan.githubRepo ?? '',
    ...(plan.remote ? { remote: plan.remote } : {}),
    credentials: { ...(plan.token ? { gh_token: plan.token } : {}), webhook_secret: randomBytes(32).toString('hex') },
  };
  const report: Record<string, unknown> = { team: plan.team, profile: plan.profile.name, path: teamDir };
  if (existsSync(path.join(teamDir, DONE_MARKER))) {
    info(`${teamDir} was fully built by an interrupted \`bm init\`; registering it.`);
    return finish(plan, teamDir, entry, { ...report, resumed: true }, json);
  }
  const staging = mkdtempSync(path.join(plan.workzone, `.${plan.team}.init-`));
  writeFileSync(path.join(staging, OWNER_FILE), `${process.pid} ${startTimeOf(process.pid)}`);
  try {
    const repo = teamPaths(staging).repo;
    info(`Creating team repo from profile '${plan.profile.name}'...`);
    writeTeamRepo(repo, plan.profile);
    await initRepo(repo);
    await commitAll(repo, `feat: initialize team repo (${plan.profile.name} profile)`);
    const team: Team = loadTeam({ ...entry, path: staging });
    if (plan.humanGates !== undefined && setGates(team, parseGateList(plan.humanGates, team.manifest)).length > 0) {
      await commitAll(repo, `feat: human gates ${plan.humanGates}`, ['botminter.yml']);
    }
    report.humanGates = gatesOf(team.manifest).filter((g) => g.enabled).map((g) => g.name);
    for (const url of plan.projects) {
      const project = await addProject(team, url);
      info(`Added project ${project.name}`);
    }
    const hired: string[] = [];
    for (const h of plan.hires) {
      const result = await hireMember(team, h.role, h.name);
      hired.push(result.member);
      info(`Hired ${result.role} as ${result.name}`);
    }
    report.members = hired;
    if (plan.githubRepo) {
      report.github = await setUpGitHub(repo, plan);
    } else if (plan.remote) {
      info(`Pushing the team repo to ${plan.remote}...`);
      await pushWhenEmpty(repo, plan.remote);
      report.remote = plan.remote;
    }
    renameSync(path.join(staging, OWNER_FILE), path.join(staging, DONE_MARKER));
    renameSync(staging, teamDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return finish(plan, teamDir, entry, report, json);
}

/** Registers the built team dir and reports. */
function finish(plan: InitPlan, teamDir: string, entry: TeamEntry, report: Record<string, unknown>, json: boolean): void {
  updateConfig((config) => registerTeam(config, entry));
  rmSync(path.join(teamDir, DONE_MARKER), { force: true });
  const isDefault = loadConfig().default_team === plan.team;
  if (json) return printJson({ ...report, default: isDefault });
  out(`Team '${plan.team}' created at ${teamDir}${isDefault ? ' (default team)' : ''}.`);
  out('Next: `bm hire <role>` to add members, `bm teams sync` to create their workspaces.');
}

async function setUpGitHub(repo: string, plan: InitPlan): Promise<Record<string, unknown>> {
  const github = await import('../lib/github.ts');
  const slug = plan.githubRepo ?? '';
  const gh = await github.createGitHub({ token: plan.token ?? '' });
  await github.checkTokenScopes(gh, ['repo', 'project']);
  info(`GitHub: ensuring repository ${slug}...`);
  const remoteRepo = await github.ensureRepo(gh, slug, { private: true, description: `bm team ${plan.team} (${plan.profile.name} profile)` });
  info(`GitHub: repository ${remoteRepo.created ? 'created' : 'reused'}: ${remoteRepo.htmlUrl}`);
  const labels = await github.ensureLabels(gh, slug, plan.profile.manifest.labels ?? []);
  info(`GitHub: labels ${labels.created.length} created, ${labels.updated.length} updated`);
  const owner = slug.split('/')[0];
  const board = await github.ensureBoard(gh, owner, `${plan.team} Board`, plan.profile.manifest.statuses ?? []);
  info(`GitHub: board '${plan.team} Board' ${board.created ? 'created' : 'reused'} with ${board.statusOptions.length} statuses`);
  info('Pushing the team repo...');
  await pushWhenEmpty(repo, remoteRepo.cloneUrl, plan.token);
  return { repo: slug, created: remoteRepo.created, url: remoteRepo.htmlUrl, labels, board: { number: board.number, url: board.url, statuses: board.statusOptions } };
}

async function wizard(): Promise<InitPlan> {
  try {
    return await askPlan();
  } finally {
    closePrompts();
  }
}

async function askPlan(): Promise<InitPlan> {
  info('Creating a new bm team. Press Enter to accept a [default].');
  const team = validateName('team', await ask('Team name'));
  const { profileNames } = await import('../lib/profiles.ts');
  const profile = loadProfile(await choose('Profile:', profileNames(), 'scrum'));
  const workzone = expandHome(await ask('Workzone (where team directories live)', loadConfig().workzone ?? home.defaultWorkzone()));
  let githubRepo: string | undefined;
  let remote: string | undefined;
  let token = process.env.GH_TOKEN;
  if (await confirm('Create the team repo, labels and board on GitHub?')) {
    githubRepo = await ask('GitHub repository (owner/name)', `${team}-team`);
    if (!token) token = await askSecret('GitHub token (repo and project scopes; GH_TOKEN also works)');
  } else {
    remote = (await ask('Git remote to push the team repo to (empty for none)')) || undefined;
  }
  const projects = (await ask('Project fork URLs, comma separated (empty for none)')).split(',').map((s) => s.trim()).filter(Boolean);
  const hires = (await ask(`Members to hire as role[:name], comma separated (roles: ${profile.roles.join(', ')})`)).split(',').map((s) => s.trim()).filter(Boolean).map(parseHire);
  const plan = { team, profile, workzone, githubRepo, remote, projects, hires, token };
  if (!(await confirm(`Create team '${team}' with profile '${profile.name}' in ${workzone}?`))) throw new BmError('Cancelled', 'Nothing was created.');
  return plan;
}

function planFromFlags(cli: { string(n: string): string | undefined; flag(n: string): boolean; list(n: string): string[] }): InitPlan {
  const team = cli.string('team-name');
  const profileName = cli.string('profile');
  const noGithub = cli.flag('no-github');
  const githubRepo = cli.string('github-repo');
  const missing = [!team && '--team-name', !profileName && '--profile', !noGithub && !githubRepo && '--github-repo or --no-github'].filter(Boolean);
  if (missing.length) throw new UsageError(`Missing ${missing.join(', ')} (bm init --non-interactive)`, 'See `bm init --help`.');
  if (noGithub && githubRepo) throw new UsageError('--github-repo and --no-github exclude each other', 'Pass one of them.');
  if (githubRepo) {
    const [owner, name, extra] = githubRepo.split('/');
    if (!owner || !name || extra !== undefined) throw new UsageError(`--github-repo must be OWNER/NAME, got '${githubRepo}'`, 'For example --github-repo acme/my-team.');
  }
  return {
    team: validateName('team', team ?? ''),
    profile: loadProfile(profileName ?? ''),
    workzone: expandHome(cli.string('workzone') ?? loadConfig().workzone ?? home.defaultWorkzone()),
    githubRepo,
    remote: cli.string('remote'),
    projects: cli.list('project'),
    hires: cli.list('hire').map(parseHire),
    token: process.env.GH_TOKEN,
    humanGates: cli.string('human-gates'),
  };
}

export const command = defineCommand({
  name: 'init',
  summary: 'Create a team from a profile: team repo, GitHub repo, labels and board',
  description: [
    'On a TTY without flags, a wizard asks for each setting. Otherwise pass --non-interactive',
    'with at least --team-name, --profile and either --github-repo or --no-github.',
    'The GitHub token comes from GH_TOKEN and is stored in BM_HOME/config.yml (mode 600).',
  ].join('\n'),
  options: {
    'non-interactive': { type: 'boolean', description: 'never prompt; take every setting from flags' },
    'team-name': { type: 'string', value: 'NAME', description: 'team name (lowercase letters, digits, hyphens)' },
    profile: { type: 'string', value: 'PROFILE', description: 'team profile (see `bm profiles list`)', complete: 'profiles' },
    workzone: { type: 'string', value: 'DIR', description: 'directory holding team directories (default ~/.botminter/workspaces)', complete: 'files' },
    'github-repo': { type: 'string', value: 'OWNER/NAME', description: 'GitHub repository for the team repo and its board (created if missing)' },
    'no-github': { type: 'boolean', description: 'work offline: no GitHub repo, labels or board' },
    remote: { type: 'string', value: 'GIT_URL', description: 'with --no-github: git remote to push the team repo to (a local bare repo works)' },
    project: { type: 'string', value: 'GIT_URL', multiple: true, description: 'add a project fork' },
    hire: { type: 'string', value: 'ROLE[:NAME]', multiple: true, description: 'hire a member right away' },
    'human-gates': { type: 'string', value: 'GATES', description: 'human gates to switch on, e.g. design,accept (or all, none; default: the profile\'s)' },
    json: jsonOption,
  },
  examples: [
    'bm init',
    'bm init --non-interactive --team-name alpha --profile scrum --github-repo acme/alpha-team --hire dev:alice',
    'bm init --non-interactive --team-name beta --profile scrum --github-repo acme/beta-team --human-gates design,accept',
    'bm init --non-interactive --team-name demo --profile scrum-compact --no-github --remote /srv/git/demo.git',
  ],
  async run(cli) {
    const interactive = !cli.flag('non-interactive') && canPrompt() && !cli.string('team-name');
    const plan = interactive ? await wizard() : planFromFlags(cli);
    validatePlan(plan);
    await runInit(plan, cli.flag('json'));
  },
});

if (isMain(import.meta.url, command)) void runMain(command);

