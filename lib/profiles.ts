/**
 * The built-in team profiles under `profiles/`: listing, loading and their roles.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { acceptNames } from './names.ts';
import { BmError } from './output.ts';
import { builtins } from './paths.ts';
import { readYaml, teamManifestSchema, type TeamManifest } from './schema.ts';

/** A profile as shipped with bm. */
export interface Profile {
  name: string;
  dir: string;
  manifest: TeamManifest;
  /** Role directories under `roles/`, sorted: what `bm hire` accepts. */
  roles: string[];
}

/** Non-hidden sub-directories of `dir`, sorted; empty when `dir` does not exist. */
export function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Names of the built-in profiles. */
export function profileNames(): string[] {
  return acceptNames('profile', subdirs(builtins.profiles), builtins.profiles).filter((name) => existsSync(path.join(builtins.profiles, name, 'botminter.yml')));
}

/** Loads a built-in profile; an unknown name lists the available ones. */
export function loadProfile(name: string): Profile {
  const names = profileNames();
  if (!names.includes(name)) {
    throw new BmError(`Profile '${name}' not found`, `Available profiles: ${names.join(', ')}.`);
  }
  const dir = builtins.profile(name);
  const manifest = readYaml(path.join(dir, 'botminter.yml'), teamManifestSchema).value;
  return { name, dir, manifest, roles: acceptNames('role', subdirs(path.join(dir, 'roles')), path.join(dir, 'roles')) };
}
