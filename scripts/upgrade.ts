/**
 * `bm upgrade [--dry-run]`: migrates a team repo to the schema this bm creates (v1 → v2).
 *
 * v2 adds `skills/` (skill sessions such as `bm knowledge`) and `formations/` (where members
 * run). The upgrade copies bm's built-in skills and formations that the team lacks (a skill or
 * formation the team already has is left alone, edits included), sets `schema_version: v2` in
 * botminter.yml through the YAML document so comments and unknown keys survive, and commits.
 * Running it on an up-to-date team changes nothing.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { commitAll, git } from '../lib/git.ts';
import { BmError, info, out, printJson } from '../lib/output.ts';
import { builtins } from '../lib/paths.ts';
import { subdirs } from '../lib/profiles.ts';
import { CURRENT_SCHEMA, KNOWN_SCHEMAS } from '../lib/schema.ts';
import { loadTeamFromFlag, saveManifest, withTeamLock, type Team } from '../lib/team.ts';

const COMMIT_MESSAGE = `chore: upgrade team to schema ${CURRENT_SCHEMA}`;
const AREAS = ['skills', 'formations'] as const;

/** One step of an upgrade. */
interface Change {
  action: 'add' | 'set';
  /** Path relative to the team repo. */
  path: string;
  detail?: string;
  apply(): void;
}

function filesIn(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? filesIn(dir, child) : [child];
  }).sort();
}

/** The steps that bring `team` to the current schema; empty when it is already there. */
function planUpgrade(team: Team): Change[] {
  const from = team.schemaVersion;
  if (from && !(KNOWN_SCHEMAS as readonly string[]).includes(from)) {
    throw new BmError(`Team '${team.name}' uses schema ${from}, which this version of bm does not know`, 'Upgrade bm itself, or fix `schema_version` in the team repo\'s botminter.yml.');
  }
  const repo = team.paths.repo;
  const changes: Change[] = [];
  for (const area of AREAS) {
    const source = builtins[area];
    const names = subdirs(source);
    for (const name of names.filter((n) => !existsSync(path.join(repo, area, n)))) {
      const [first, ...rest] = filesIn(path.join(source, name)).map((f) => `${area}/${name}/${f}`);
      const copy = () => cpSync(path.join(source, name), path.join(repo, area, name), { recursive: true });
      // One copy per skill or formation; its other files are listed for the plan only.
      changes.push({ action: 'add', path: first ?? `${area}/${name}/`, apply: copy });
      for (const file of rest) changes.push({ action: 'add', path: file, apply: () => {} });
    }
    if (names.length === 0 && !existsSync(path.join(repo, area))) {
      // git keeps no empty directories, and the v2 layout requires this one.
      changes.push({
        action: 'add',
        path: `${area}/.gitkeep`,
        apply: () => {
          mkdirSync(path.join(repo, area), { recursive: true });
          writeFileSync(path.join(repo, area, '.gitkeep'), '');
        },
      });
    }
  }
  if (from !== CURRENT_SCHEMA) {
    changes.push({
      action: 'set',
      path: 'botminter.yml',
      detail: `schema_version: ${from ?? '(none)'} -> ${CURRENT_SCHEMA}`,
      apply: () => {
        team.manifestDoc.set('schema_version', CURRENT_SCHEMA);
        saveManifest(team);
      },
    });
  }
  return changes;
}

async function refuseUncommitted(team: Team): Promise<void> {
  const dirty = await git(team.paths.repo, ['status', '--porcelain', '--', 'botminter.yml', ...AREAS]);
  if (dirty) {
    throw new BmError(`The team repo has uncommitted changes in botminter.yml, skills/ or formations/ (${team.paths.repo})`, 'Commit or discard them, then run `bm upgrade` again.');
  }
}

export const command = defineCommand({
  name: 'upgrade',
  summary: `Migrate a team repo to schema ${CURRENT_SCHEMA} (adds skills/ and formations/)`,
  description: [
    'Copies bm\'s built-in skills and formations that the team repo lacks, sets',
    `schema_version: ${CURRENT_SCHEMA} in botminter.yml (comments and other keys are kept) and commits.`,
    'Nothing is pushed: run `bm teams sync --push` afterwards. Safe to run again.',
  ].join('\n'),
  options: {
    'dry-run': { type: 'boolean', description: 'show the plan and change nothing' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm upgrade --dry-run', 'bm upgrade', 'bm upgrade -t my-team'],
  async run(cli) {
    const team = loadTeamFromFlag(cli.string('team'));
    const dryRun = cli.flag('dry-run');
    const from = team.schemaVersion ?? null;
    const result = await withTeamLock(team, async () => {
      const changes = planUpgrade(team);
      if (changes.length > 0 && !dryRun) {
        await refuseUncommitted(team);
        for (const change of changes) change.apply();
        await commitAll(team.paths.repo, COMMIT_MESSAGE, ['botminter.yml', ...AREAS]);
      }
      return changes;
    });
    const changes = result.map(({ action, path: p, detail }) => ({ action, path: p, ...(detail ? { detail } : {}) }));
    const committed = changes.length > 0 && !dryRun;
    if (cli.flag('json')) return printJson({ team: team.name, from, to: CURRENT_SCHEMA, dryRun, changes, committed });
    if (changes.length === 0) return out(`Team '${team.name}' is already on schema ${CURRENT_SCHEMA}; nothing to upgrade.`);
    out(`${dryRun ? 'Would upgrade' : 'Upgraded'} team '${team.name}' from schema ${from ?? '(none)'} to ${CURRENT_SCHEMA}:`);
    for (const c of changes) out(`  ${c.action.padEnd(4)} ${c.path}${c.detail ? `  ${c.detail}` : ''}`);
    if (dryRun) return out('Dry run: nothing was changed. Run `bm upgrade` to apply.');
    out(`Committed: ${COMMIT_MESSAGE}`);
    info('Next: run `bm teams sync --push` to push the team repo and refresh the workspaces.');
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
