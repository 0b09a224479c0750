/**
 * Validation of the names that become paths, git branches and Kubernetes objects.
 *
 * Every team, member, role and project name passes `validateName` before any path or command
 * uses it, so `../x`, `a b` or `-rf` never reach the file system or an argv.
 */
import { BmError, warnOnce } from './output.ts';

/** DNS-label shape: lowercase letters, digits and inner hyphens, 1-63 characters. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type NameKind = 'team' | 'member' | 'role' | 'project' | 'profile' | 'formation' | 'name';

/** Throws a BmError explaining the rule when `value` is not a valid name; returns it otherwise. */
export function validateName(kind: NameKind, value: string): string {
  if (NAME_PATTERN.test(value)) return value;
  throw new BmError(`Invalid ${kind} name ${printable(value)}: ${whyInvalid(value)}`, 'Names look like `alice`, `dev-01` or `my-team` (at most 63 characters).');
}

function whyInvalid(value: string): string {
  if (value.length === 0) return 'it is empty';
  if (value.length > 63) return `it is ${value.length} characters long; the limit is 63`;
  if (/[/\\]|\.\./.test(value)) return 'it contains a path separator or `..`';
  if (/\s/.test(value)) return 'it contains white space';
  if (/[A-Z]/.test(value)) return 'it contains uppercase letters';
  if (/^-|-$/.test(value)) return 'it starts or ends with a hyphen; use lowercase letters, digits and inner hyphens';
  if (/[^\x20-\x7e]/.test(value)) return 'it contains characters other than lowercase letters, digits and hyphens';
  return 'use lowercase letters, digits and hyphens, starting and ending with a letter or digit';
}

/** True when the value is a valid name, without throwing. */
export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

/**
 * The one check for names read from a file, a folder listing or an API answer: true when `value`
 * is a valid name; otherwise warns once per command (naming `source` and the fix) and returns
 * false, and the caller skips the name. Such a name never becomes a path, an argument or a row.
 */
export function acceptName(kind: NameKind, value: unknown, source: string): value is string {
  if (typeof value === 'string' && NAME_PATTERN.test(value)) return true;
  const shown = typeof value === 'string' ? printable(value) : String(value);
  const why = typeof value === 'string' ? whyInvalid(value) : 'it is not a string';
  warnOnce(`Skipping ${kind} name ${shown} in ${source}: ${why}. Rename it there to lowercase letters, digits and hyphens (at most 63 characters, e.g. \`dev-bob\`); until then bm ignores it.`);
  return false;
}

/** The valid names among `values`, each bad one reported by `acceptName`. */
export function acceptNames(kind: NameKind, values: readonly unknown[], source: string): string[] {
  return values.filter((value): value is string => acceptName(kind, value, source));
}

/** GitHub's login shape; a GitHub App's bot user ends in `[bot]`. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;

/** True when an API answer's login has GitHub's shape; any other value is dropped, never shown or compared. */
export function isGitHubLogin(value: unknown): value is string {
  return typeof value === 'string' && GITHUB_LOGIN.test(value);
}

/** A name for messages: quoted, control characters escaped, long ones cut. */
function printable(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
