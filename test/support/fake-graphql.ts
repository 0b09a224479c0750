/**
 * Answers for the fake GitHub's GraphQL operations, derived from the query actually sent.
 *
 * The query is parsed with the `graphql` package; the answer is built by walking its selection
 * sets over a tree of plain objects that stands for GitHub's graph. A field the tree does not
 * have is refused the way GitHub refuses it (`undefinedField`), so a query asking for something
 * GitHub does not serve fails its test. A field whose value is a function is called with the
 * field's arguments (variables resolved): `items({first, after})`, `fieldValueByName({name})`.
 * An object's `__typename` decides which inline fragments (`... on ProjectV2`) apply; an object
 * may list further type names it satisfies (interfaces, unions) in `__implements`.
 *
 * To serve a new operation, give `answerQuery` a root object with the fields it starts from.
 */
import { Kind, parse, type FieldNode, type SelectionSetNode, type ValueNode } from 'graphql';

/** A node of the fake graph: plain values, objects, arrays, or functions of the field's arguments. */
export type GraphValue = unknown;

/** A GraphQL error as GitHub sends it. */
export interface GitHubGraphQLError {
  type?: string;
  message: string;
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  extensions?: Record<string, unknown>;
}

class QueryError extends Error {
  constructor(readonly detail: GitHubGraphQLError) {
    super(detail.message);
  }
}

function argumentValue(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE: return variables[node.name.value] ?? null;
    case Kind.INT: return Number(node.value);
    case Kind.FLOAT: return Number(node.value);
    case Kind.STRING: case Kind.ENUM: return node.value;
    case Kind.BOOLEAN: return node.value;
    case Kind.NULL: return null;
    case Kind.LIST: return node.values.map((v) => argumentValue(v, variables));
    case Kind.OBJECT: return Object.fromEntries(node.fields.map((f) => [f.name.value, argumentValue(f.value, variables)]));
    default: return null;
  }
}

function typesOf(value: Record<string, unknown>): string[] {
  const own = typeof value.__typename === 'string' ? [value.__typename] : [];
  return [...own, ...(Array.isArray(value.__implements) ? (value.__implements as string[]) : [])];
}

function select(set: SelectionSetNode, value: Record<string, unknown>, variables: Record<string, unknown>, path: (string | number)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition?.name.value;
      if (!on || typesOf(value).includes(on)) Object.assign(out, select(selection.selectionSet, value, variables, path));
      continue;
    }
    if (selection.kind !== Kind.FIELD) throw new QueryError({ message: 'fake-github: named fragments are not supported', path });
    out[(selection.alias ?? selection.name).value] = field(selection, value, variables, path);
  }
  return out;
}

function field(node: FieldNode, parent: Record<string, unknown>, variables: Record<string, unknown>, path: (string | number)[]): unknown {
  const name = node.name.value;
  const at = [...path, (node.alias ?? node.name).value];
  if (name === '__typename') return parent.__typename;
  if (!(name in parent)) {
    const type = String(parent.__typename ?? 'Query');
    throw new QueryError({
      message: `Field '${name}' doesn't exist on type '${type}'`, path: at,
      locations: node.loc ? [{ line: node.loc.startToken.line, column: node.loc.startToken.column }] : [],
      extensions: { code: 'undefinedField', typeName: type, fieldName: name },
    });
  }
  let value = parent[name];
  if (typeof value === 'function') {
    const args = Object.fromEntries((node.arguments ?? []).map((a) => [a.name.value, argumentValue(a.value, variables)]));
    value = (value as (args: Record<string, unknown>) => unknown)(args);
  }
  return shape(node, value, variables, at);
}

function shape(node: FieldNode, value: unknown, variables: Record<string, unknown>, path: (string | number)[]): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v, i) => shape(node, v, variables, [...path, i]));
  if (!node.selectionSet) return value;
  if (typeof value !== 'object') throw new QueryError({ message: `Selections can't be made on scalars (field '${node.name.value}')`, path });
  return select(node.selectionSet, value as Record<string, unknown>, variables, path);
}

/**
 * Runs `query` over `root` (the Query or Mutation object of the fake graph); resolves to
 * GitHub's answer shape: `{data}` or `{data: null, errors}`. Errors thrown by the tree's functions
 * as `graphqlFailure(...)` become GitHub errors with their `type`.
 */
export function answerQuery(query: string, variables: Record<string, unknown>, root: Record<string, unknown>): { data: unknown; errors?: GitHubGraphQLError[] } {
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return { data: null, errors: [{ message: `Parse error: ${(error as Error).message}` }] };
  }
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return { data: null, errors: [{ message: 'No operation in the document' }] };
  try {
    return { data: select(operation.selectionSet, root, variables, []) };
  } catch (error) {
    if (error instanceof QueryError) return { data: null, errors: [error.detail] };
    throw error;
  }
}

/** Throw from a tree function to answer with a GitHub GraphQL error (`NOT_FOUND`, `FORBIDDEN` ...). */
export function graphqlFailure(type: string, message: string): never {
  throw new QueryError({ type, message });
}
