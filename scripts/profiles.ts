/**
 * `bm profiles list|describe`: the built-in team profiles a team can be created from.
 */
import { defineCommand, defineGroup, isMain, jsonOption, runMain } from '../lib/cli.ts';
import { out, printJson, printTable } from '../lib/output.ts';
import { loadProfile, profileNames } from '../lib/profiles.ts';

const list = defineCommand({
  name: 'profiles list',
  summary: 'List the built-in profiles',
  options: { json: jsonOption },
  examples: ['bm profiles list', 'bm profiles list --json'],
  run(cli) {
    const profiles = profileNames().map(loadProfile);
    if (cli.flag('json')) {
      printJson(profiles.map((p) => ({
        name: p.name,
        displayName: p.manifest.display_name ?? p.name,
        version: p.manifest.version ?? '',
        schema: p.manifest.schema_version ?? '',
        description: p.manifest.description ?? '',
        roles: p.roles,
      })));
      return;
    }
    printTable(['Profile', 'Version', 'Schema', 'Roles', 'Description'],
      profiles.map((p) => [p.name, p.manifest.version ?? '', p.manifest.schema_version ?? '', p.roles.join(', '), p.manifest.description ?? '']));
  },
});

const describe = defineCommand({
  name: 'profiles describe',
  summary: 'Show a profile: roles, labels and board statuses',
  args: [{ name: 'profile', description: 'profile name (see `bm profiles list`)', required: true, complete: 'profiles' }],
  options: { json: jsonOption },
  examples: ['bm profiles describe scrum'],
  run(cli) {
    const profile = loadProfile(cli.args.profile ?? '');
    const m = profile.manifest;
    if (cli.flag('json')) {
      printJson({
        name: profile.name,
        displayName: m.display_name ?? profile.name,
        version: m.version ?? '',
        schema: m.schema_version ?? '',
        description: m.description ?? '',
        roles: (m.roles ?? []).map((r) => ({ name: r.name, description: r.description ?? '' })),
        labels: m.labels ?? [],
        statuses: (m.statuses ?? []).map((s) => ({ name: s.name, description: s.description ?? '' })),
        views: m.views ?? [],
      });
      return;
    }
    out(`Profile:      ${profile.name}`);
    out(`Display name: ${m.display_name ?? profile.name}`);
    out(`Version:      ${m.version ?? ''}`);
    out(`Schema:       ${m.schema_version ?? ''}`);
    out(`Description:  ${m.description ?? ''}`);
    const section = (title: string, rows: { name: string; description?: string }[]) => {
      out('');
      out(`${title} (${rows.length}):`);
      const width = Math.max(0, ...rows.map((r) => r.name.length));
      for (const r of rows) out(`  ${r.name.padEnd(width)}  ${r.description ?? ''}`);
    };
    section('Roles', m.roles ?? []);
    section('Board statuses', m.statuses ?? []);
    section('Labels', m.labels ?? []);
  },
});

export const command = defineGroup({
  name: 'profiles',
  summary: 'List and describe the built-in team profiles',
  subcommands: [list, describe],
});

if (isMain(import.meta.url, command)) void runMain(command);
