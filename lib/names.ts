/**
 * Validation of the names that become paths, git branches and Kubernetes objects.
 *
 * Every team, member, role and project name passes `validateName` before any path or command
 * uses it, so `../x`, `a b` or `-rf` never reach the file system or an argv.
 */
import { BmError } from './output.ts';

/** DNS-label shape: lowercase letters, digits and inner hyphens, 1-63 characters. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type NameKind = 'team' | 'member' | 'role' | 'project' | 'profile' | 'formation' | 'name';

/** Throws a BmError explaining the rule when `value` is not a valid name; returns it otherwise. */
export function validateName(kind: NameKind, value: string): string {
  if (NAME_PATTERN.test(value)) return value;
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  let why = 'use lowercase letters, digits and hyphens, starting and ending with a letter or digit';
  if (value.length === 0) why = 'it is empty';
  else if (value.length > 63) why = `it is ${value.length} characters long; the limit is 63`;
  else if (/[/\\]|\.\./.test(value)) why = 'it contains a path separator or `..`';
  else if (/\s/.test(value)) why = 'it contains white space';
  else if (/[A-Z]/.test(value)) why = 'it contains uppercase letters';
  return fail(kind, shown, why);
}

function fail(kind: NameKind, shown: string, why: string): never {
  throw new BmError(`Invalid ${kind} name ${shown}: ${why}`, 'Names look like `alice`, `dev-01` or `my-team` (at most 63 characters).');
}

/** True when the value is a valid name, without throwing. */
export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}
