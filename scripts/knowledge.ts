/**
 * `bm knowledge`: the team's knowledge and invariants.
 *
 *   bm knowledge list [--scope S] [--member M] [--project P]   files grouped by scope
 *   bm knowledge show PATH                                      print one file
 *   bm knowledge search QUERY                                   ranked full-text search
 *   bm knowledge [--scope S] [--member M] [--project P]         edit them with Claude Code
 *
 * Every form needs a schema v2 team: the gate runs before anything else.
 */
import { readAgentBytes } from '../lib/files.ts';
import { defineCommand, defineGroup, isMain, jsonOption, runMain, teamOption, type Invocation, type OptionSpec } from '../lib/cli.ts';
import { scopeDir, listScopes, parseScope, requireMember, requireProject, resolveKnowledgeFile, scopeLabel, teamScopes, isBinary, type ScopeFilter, type ScopeKind, type ScopeListing } from '../lib/knowledge/scopes.ts';
import { highlight, searchKnowledge } from '../lib/knowledge/search.ts';
import { validateName } from '../lib/names.ts';
import { BmError, info, out, printJson, style, write } from '../lib/output.ts';
import { requireSchemaV2 } from '../lib/schema.ts';
import { loadTeamFromFlag, type Team } from '../lib/team.ts';

/** Largest knowledge file `bm knowledge show` prints. */
const KNOWLEDGE_FILE_MAX_BYTES = 8 * 1024 * 1024;

const scopeOption: OptionSpec = { type: 'string', value: 'SCOPE', description: 'team, project, member or member-project', complete: 'scopes' };
const memberOption: OptionSpec = { type: 'string', value: 'MEMBER', description: 'only this member\'s scopes (with --project: what it sees there)', complete: 'members' };
const projectOption: OptionSpec = { type: 'string', value: 'PROJECT', description: 'only this project\'s scopes', complete: 'projects' };

/** Loads the team and applies the schema v2 gate before any other check. */
function openTeam(cli: Invocation): Team {
  const team = loadTeamFromFlag(cli.string('team'));
  requireSchemaV2(team.name, team.schemaVersion);
  return team;
}

/** Reads and checks --scope, --member and --project. */
function filterFrom(team: Team, cli: Invocation): ScopeFilter {
  const scope = parseScope(cli.string('scope'));
  const member = cli.string('member');
  const project = cli.string('project');
  return {
    scope,
    member: member === undefined ? undefined : requireMember(team, validateName('member', member)),
    project: project === undefined ? undefined : requireProject(team, validateName('project', project)),
  };
}

const HEADINGS: Record<ScopeKind, (s: ScopeListing) => string> = {
  team: () => 'Team scope',
  project: (s) => `Project scope (${s.project})`,
  member: (s) => `Member scope (${s.member})`,
  'member-project': (s) => `Member+project scope (${s.member}/${s.project})`,
};

function printListing(team: Team, listings: ScopeListing[], filter: ScopeFilter): void {
  // Collected and written once: a big team has thousands of lines.
  const lines = [`Team: ${team.name} (schema ${team.schemaVersion})`];
  if (filter.member && filter.project) lines.push(`What ${filter.member} sees on ${filter.project}, broadest first.`);
  for (const listing of listings) {
    lines.push('', style('bold', `${HEADINGS[listing.scope](listing)}:`));
    for (const kind of ['knowledge', 'invariants'] as const) {
      const dir = scopeDir(listing, kind);
      lines.push(`  ${dir}/`);
      const files = listing[kind];
      if (files.length === 0) lines.push(`    ${style('dim', '(none)')}`);
      for (const file of files) lines.push(`    ${file.slice(dir.length + 1)}`);
    }
  }
  if (listings.length === 0) lines.push('', 'No scopes match these filters.');
  out(lines.join('\n'));
}

const list = defineCommand({
  name: 'knowledge list',
  summary: 'List knowledge and invariant files, grouped by scope',
  description: 'Scopes, broadest first: team, project, member, member-project. --member M with\n--project P shows the stack member M sees when working on project P.',
  options: { scope: scopeOption, member: memberOption, project: projectOption, team: teamOption, json: jsonOption },
  examples: ['bm knowledge list', 'bm knowledge list --scope member', 'bm knowledge list --member dev-alice --project widget --json'],
  run(cli) {
    const team = openTeam(cli);
    const filter = filterFrom(team, cli);
    const listings = listScopes(team.paths.repo, teamScopes(team, filter));
    if (cli.flag('json')) {
      return printJson({
        team: team.name,
        schema: team.schemaVersion,
        scopes: listings.map(({ scope, member, project, knowledge, invariants }) => ({
          scope,
          ...(project ? { project } : {}),
          ...(member ? { member } : {}),
          knowledge,
          invariants,
        })),
      });
    }
    printListing(team, listings, filter);
  },
});

const show = defineCommand({
  name: 'knowledge show',
  summary: 'Print a knowledge or invariant file',
  args: [{ name: 'path', description: 'path relative to the team repo, as `bm knowledge list` prints it', required: true, complete: 'files' }],
  options: { team: teamOption },
  examples: ['bm knowledge show knowledge/commit-convention.md', 'bm knowledge show members/dev-alice/invariants/tests.md'],
  run(cli) {
    const team = openTeam(cli);
    const file = resolveKnowledgeFile(team.paths.repo, cli.args.path ?? '');
    // Members commit these files: never block on a FIFO or read a device planted there.
    const bytes = readAgentBytes(file.real, KNOWLEDGE_FILE_MAX_BYTES);
    if (!bytes) throw new BmError(`${file.path} no longer exists`, 'Run `bm knowledge list` to see the files there are.');
    if (isBinary(bytes)) throw new BmError(`${file.path} is a binary file`, `bm prints text only; open ${file.real} with a program that understands it.`);
    write(1, bytes);
  },
});

const search = defineCommand({
  name: 'knowledge search',
  summary: 'Search all knowledge and invariant files (ranked)',
  description: 'Finds files containing every word of QUERY (case-insensitive), best first:\nwords in the file name, in headings and as a phrase rank higher.',
  args: [{ name: 'query', description: 'one or more words', required: true, variadic: true }],
  options: {
    limit: { type: 'string', value: 'N', description: 'most files to show (default 50)' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm knowledge search commit message', 'bm knowledge search "pull request" --json'],
  run(cli) {
    const team = openTeam(cli);
    const rawLimit = cli.string('limit');
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1) throw new BmError(`--limit must be a positive whole number, got '${rawLimit}'`, 'For example --limit 20.');
    const query = cli.rest.join(' ');
    const result = searchKnowledge(team.paths.repo, teamScopes(team), query, { limit });
    if (cli.flag('json')) return printJson({ team: team.name, query, ...result });
    if (result.hits.length === 0) {
      out(`No matches for '${query}' in ${result.searched} file(s).`);
      return;
    }
    let current = '';
    for (const hit of result.hits) {
      if (hit.path !== current) {
        if (current) out('');
        current = hit.path;
        out(`${style('bold', hit.path)}  ${style('dim', `(${scopeLabel(hit)})`)}`);
      }
      out(`  ${style('dim', `${String(hit.line).padStart(4)}:`)} ${highlight(hit.snippet, result.terms, (m) => style('yellow', style('bold', m)))}`);
    }
    const shown = new Set(result.hits.map((h) => h.path)).size;
    info(`${result.matched} of ${result.searched} file(s) matched${shown < result.matched ? `; showing the best ${shown} (raise --limit for more)` : ''}.`);
  },
});

/** The focus of an interactive session, from --scope/--member/--project. */
function focusOf(filter: ScopeFilter): { scope: ScopeKind | undefined; text: string } {
  const scope = filter.scope ?? (filter.member && filter.project ? 'member-project' : filter.member ? 'member' : filter.project ? 'project' : undefined);
  const m = filter.member ?? '<member>';
  const p = filter.project ?? '<project>';
  switch (scope) {
    case 'team': return { scope, text: 'the team scope (knowledge/ and invariants/ at the top of the repo)' };
    case 'project': return { scope, text: `the project scope (projects/${p}/knowledge/ and projects/${p}/invariants/)` };
    case 'member': return { scope, text: `the member scope (members/${m}/knowledge/ and members/${m}/invariants/)` };
    case 'member-project': return { scope, text: `the member+project scope (members/${m}/projects/${p}/knowledge/ and .../invariants/)` };
    default: return { scope, text: 'all scopes' };
  }
}

/** The operator's first message to Claude: what the session is about. */
export function openingMessage(filter: ScopeFilter): string {
  const focus = focusOf(filter);
  return [
    `I want to manage this team's knowledge and invariants. Focus on ${focus.text}.`,
    'Follow the knowledge-manager instructions. Start by showing what exists in that focus, then ask me what to create, edit, move or delete.',
    'Edit files in this repository only; do not commit: I review and commit the changes myself.',
  ].join(' ');
}

const CHANGE_NAMES: Record<string, string> = { M: 'modified', A: 'added', D: 'deleted', T: 'type changed' };

/** What the session changed in the team repo, as `<verb> <path>` lines (uncommitted changes and new files). */
async function changesIn(repo: string): Promise<string[]> {
  const { git, gitMaybe } = await import('../lib/git.ts');
  const hasHead = (await gitMaybe(repo, ['rev-parse', '--verify', '-q', 'HEAD'])) !== undefined;
  const tracked = hasHead ? await git(repo, ['diff', '--no-renames', '--name-status', 'HEAD', '--']) : '';
  const untracked = await git(repo, ['ls-files', '--others', '--exclude-standard']);
  const lines = tracked.split('\n').filter(Boolean).map((line) => {
    const [status, file] = line.split('\t');
    return `${(CHANGE_NAMES[status[0]] ?? status).padEnd(9)} ${file}`;
  });
  return [...lines, ...untracked.split('\n').filter(Boolean).map((file) => `${'new'.padEnd(9)} ${file}`)];
}

const session = defineCommand({
  name: 'knowledge',
  summary: 'Edit knowledge and invariants in a Claude Code session',
  options: { scope: scopeOption, member: memberOption, project: projectOption, team: teamOption },
  examples: ['bm knowledge', 'bm knowledge --scope project --project widget'],
  async run(cli) {
    const team = openTeam(cli);
    const filter = filterFrom(team, cli);
    const token = team.entry.credentials?.gh_token;
    info(`Starting Claude Code in ${team.paths.repo} with the knowledge-manager skill (focus: ${focusOf(filter).text}).`);
    // Loaded here, as git.ts is in changesIn: list, show and search need neither, nor the
    // child_process and crypto modules a session loads.
    const { interactiveSkillSession } = await import('../lib/session.ts');
    const exit = await interactiveSkillSession({
      skill: 'knowledge-manager',
      skillsDir: team.paths.skills,
      cwd: team.paths.repo,
      opening: openingMessage(filter),
      env: token ? { GH_TOKEN: token } : {},
    });
    const changes = await changesIn(team.paths.repo);
    out('');
    if (changes.length === 0) {
      out('No changes in the team repo.');
    } else {
      out(`Changes in the team repo (${team.paths.repo}):`);
      for (const line of changes) out(`  ${line}`);
      out('');
      out(`Next: review and commit them (git -C ${team.paths.repo} add -A && git -C ${team.paths.repo} commit),`);
      out('then run `bm teams sync` so every member\'s workspace gets them.');
    }
    if (exit.code !== 0) {
      throw new BmError(`Claude Code session exited with an error (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})`, 'Any changes it made are listed above.');
    }
  },
});

export const command = defineGroup({
  name: 'knowledge',
  summary: 'List, show, search and edit the team\'s knowledge and invariants',
  description: [
    'Knowledge is advisory context; invariants are rules members must follow. Both live in',
    'four scopes: team, project, member and member-project (see docs/knowledge.md).',
    '',
    'Without a command, `bm knowledge [--scope S] [--member M] [--project P]` opens an',
    'interactive Claude Code session in the team repo with the knowledge-manager skill,',
    'focused on that scope. Afterwards it lists what changed; commit, then `bm teams sync`.',
    'Needs a schema v2 team (`bm upgrade` migrates a v1 team).',
  ].join('\n'),
  subcommands: [list, show, search],
  fallback: session,
});

if (isMain(import.meta.url, command)) void runMain(command);
