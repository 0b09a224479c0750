/**
 * Label and field selectors as list and watch requests send them
 * (`labelSelector=app=x,tier in (a,b),!legacy`, `fieldSelector=metadata.name=p`).
 */
import { badRequest } from './status.ts';
import { asObj, type KubeObject } from './util.ts';

type Requirement =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

/** A compiled selector: `matches(labels)` is true when every requirement holds. */
export interface LabelSelector {
  matches(labels: Record<string, string> | undefined): boolean;
}

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parseRequirement(term: string): Requirement {
  const set = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3].split(',').map((v) => v.trim()).filter((v) => v.length > 0);
    return { op: set[2] === 'in' ? 'in' : 'notin', key: set[1], values };
  }
  const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term);
  if (cmp) return { op: cmp[2] === '!=' ? 'ne' : 'eq', key: cmp[1], value: cmp[3] };
  const not = /^!\s*([^\s!=]+)$/.exec(term);
  if (not) return { op: 'notexists', key: not[1] };
  if (/^[^\s!=(),]+$/.test(term)) return { op: 'exists', key: term };
  throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
}

function holds(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return has && value === req.value;
    case 'ne':
      return !has || value !== req.value;
    case 'in':
      return has && req.values.includes(value);
    case 'notin':
      return !has || !req.values.includes(value);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

/** Parses a label selector; an empty or missing one matches everything. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  const reqs = splitTop(text ?? '').map(parseRequirement);
  return { matches: (labels) => reqs.every((r) => holds(r, labels ?? {})) };
}

/** A compiled field selector over the handful of fields the API server indexes. */
export interface FieldSelector {
  matches(obj: KubeObject): boolean;
}

/** Reads a dotted field path such as `status.phase` or `involvedObject.name`. */
function fieldValue(obj: KubeObject, path: string): string {
  let current: unknown = obj;
  for (const part of path.split('.')) current = asObj(current)?.[part];
  if (current === undefined || current === null) return '';
  return String(current);
}

/** Parses `a=b,c!=d` (also `==`); unknown fields are rejected as a real server does. */
export function parseFieldSelector(text: string | null | undefined, plural: string): FieldSelector {
  const allowed = ['metadata.name', 'metadata.namespace'];
  if (plural === 'pods') allowed.push('status.phase', 'spec.nodeName', 'spec.restartPolicy', 'status.podIP');
  if (plural === 'events') allowed.push('involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type');
  if (plural === 'secrets') allowed.push('type');
  const reqs = (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((term) => {
      const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid selector: '${term}'; can't understand '${term}'`);
      const field = m[1].trim();
      if (!allowed.includes(field)) {
        throw badRequest(`field label not supported: ${field}`);
      }
      return { field, negate: m[2] === '!=', value: m[3].trim() };
    });
  return {
    matches: (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate),
  };
}
