/**
 * A reader for the plain YAML that bm itself writes (block mappings and sequences of simple
 * scalars, as `yaml.stringify` lays out the operator config), which answers `undefined` for
 * anything else so that the caller parses the text with the yaml package instead.
 *
 * @speed-only: the operator config holds tokens, so it may never sit in the parse cache, and it
 * is read by nearly every command: evaluating the yaml package and parsing cold cost about a
 * third of a short command's own time. A test compares this reader with the yaml package on
 * generated and mutated texts; where they could differ, this one declines.
 */

type Value = string | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?$/;
// A plain scalar that is a string in YAML 1.2's core schema, in every context: no indicator
// first, no `: `, no comment, no trailing colon or space.
const PLAIN = /^[A-Za-z0-9_/.][A-Za-z0-9_/.@+=:%~ -]*$/;
// What the core schema reads as a number, bool or null (in any letter case, to be safe).
const NOT_A_STRING = /^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([e][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-f]+|[-+]?\.inf|\.nan|true|false|null|~)$/i;

/** The value of `text` if it is in the subset this reader knows, else undefined. */
export function readSimpleYaml(text: string): Value | undefined {
  if (text.includes('#') || text.includes('\t') || text.includes('\r') || /^(---|\.\.\.|%)/m.test(text)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const indent = raw.length - raw.trimStart().length;
    lines.push({ indent, text: raw.slice(indent) });
  }
  if (lines.length === 0 || lines[0].indent !== 0) return undefined;
  const reader = { lines, at: 0 };
  const value = block(reader, 0);
  return value !== undefined && reader.at === lines.length ? value : undefined;
}

function block(r: { lines: Line[]; at: number }, indent: number): Value | undefined {
  const first = r.lines[r.at];
  if (!first || first.indent !== indent) return undefined;
  return first.text.startsWith('- ') ? sequence(r, indent) : mapping(r, indent);
}

function mapping(r: { lines: Line[]; at: number }, indent: number): Value | undefined {
  const result: { [key: string]: Value } = {};
  while (r.at < r.lines.length && r.lines[r.at].indent === indent && !r.lines[r.at].text.startsWith('- ')) {
    const match = KEY.exec(r.lines[r.at].text);
    if (!match || Object.hasOwn(result, match[1]) || match[1] === '__proto__' || NOT_A_STRING.test(match[1])) return undefined;
    r.at++;
    const value = match[2] === undefined ? nested(r, indent) : scalar(match[2]);
    if (value === undefined) return undefined;
    result[match[1]] = value;
  }
  return result;
}

/** What follows `key:` with nothing after it: a deeper block, a sequence at the same indent, or null. */
function nested(r: { lines: Line[]; at: number }, indent: number): Value | undefined {
  const next = r.lines[r.at];
  if (next && next.indent > indent) return block(r, next.indent);
  if (next && next.indent === indent && next.text.startsWith('- ')) return sequence(r, indent);
  return null;
}

function sequence(r: { lines: Line[]; at: number }, indent: number): Value | undefined {
  const result: Value[] = [];
  while (r.at < r.lines.length && r.lines[r.at].indent === indent && r.lines[r.at].text.startsWith('- ')) {
    const rest = r.lines[r.at].text.slice(2);
    if (rest.startsWith(' ') || rest.startsWith('- ')) return undefined;
    let item: Value | undefined;
    if (KEY.test(rest)) {
      // `- key: value`: a mapping whose first line shares the dash's line.
      r.lines[r.at] = { indent: indent + 2, text: rest };
      item = mapping(r, indent + 2);
    } else {
      r.at++;
      item = scalar(rest);
    }
    if (item === undefined) return undefined;
    result.push(item);
  }
  return result;
}

function scalar(text: string): Value | undefined {
  if (text === '""' || text === "''") return '';
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (/^"[^"\\]*"$/.test(text)) return text.slice(1, -1);
  if (!PLAIN.test(text) || NOT_A_STRING.test(text) || text.endsWith(' ') || text.endsWith(':') || text.includes(': ') || text.includes(' -')) return undefined;
  return text;
}
