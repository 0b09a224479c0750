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
 * Errors behave as on GitHub: a query that asks for a field the graph does not have, or passes
 * an input field the mutation does not take (`graphqlRejected`), is refused as a whole (no
 * `data`); a field whose function fails (`graphqlFailure`: NOT_FOUND, FORBIDDEN ...) is null in
 * `data` and its error, with its path, is in `errors`; the other fields are still answered
 * (mutation fields run one after the other, as GitHub runs them).
 *
 * To serve a new operation, add the fields it starts from to the Query or Mutation root.
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
  /** `validation` refuses the whole request; `execution` nulls one field. */
  constructor(readonly detail: GitHubGraphQLError, readonly kind: 'validation' | 'execution') {
    super(detail.message);
  }
}

/** The errors of one execution, collected while the rest of the answer is built. */
type Errors = GitHubGraphQLError[];

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

function select(set: SelectionSetNode, value: Record<string, unknown>, variables: Record<string, unknown>, path: (string | number)[], errors: Errors): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition?.name.value;
      if (!on || typesOf(value).includes(on)) Object.assign(out, select(selection.selectionSet, value, variables, path, errors));
      continue;
    }
    if (selection.kind !== Kind.FIELD) throw new QueryError({ message: 'fake-github: named fragments are not supported', path }, 'validation');
    const key = (selection.alias ?? selection.name).value;
    try {
      out[key] = field(selection, value, variables, path, errors);
    } catch (error) {
      if (!(error instanceof QueryError) || error.kind !== 'execution') throw error;
      out[key] = null;
      errors.push({ ...error.detail, path: [...path, key], locations: locationOf(selection) });
    }
  }
  return out;
}

function locationOf(node: FieldNode): { line: number; column: number }[] {
  return node.loc ? [{ line: node.loc.startToken.line, column: node.loc.startToken.column }] : [];
}

function field(node: FieldNode, parent: Record<string, unknown>, variables: Record<string, unknown>, path: (string | number)[], errors: Errors): unknown {
  const name = node.name.value;
  const at = [...path, (node.alias ?? node.name).value];
  if (name === '__typename') return parent.__typename;
  if (!(name in parent)) {
    const type = String(parent.__typename ?? 'Query');
    throw new QueryError({
      message: `Field '${name}' doesn't exist on type '${type}'`, path: at, locations: locationOf(node),
      extensions: { code: 'undefinedField', typeName: type, fieldName: name },
    }, 'validation');
  }
  let value = parent[name];
  if (typeof value === 'function') {
    const args = Object.fromEntries((node.arguments ?? []).map((a) => [a.name.value, argumentValue(a.value, variables)]));
    value = (value as (args: Record<string, unknown>) => unknown)(args);
  }
  return shape(node, value, variables, at, errors);
}

function shape(node: FieldNode, value: unknown, variables: Record<string, unknown>, path: (string | number)[], errors: Errors): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v, i) => shape(node, v, variables, [...path, i], errors));
  if (!node.selectionSet) return value;
  if (typeof value !== 'object') throw new QueryError({ message: `Selections can't be made on scalars (field '${node.name.value}')`, path }, 'validation');
  return select(node.selectionSet, value as Record<string, unknown>, variables, path, errors);
}

/** The roots of the fake graph. */
export interface GraphRoots {
  query: Record<string, unknown>;
  mutation: Record<string, unknown>;
}

/**
 * Runs the operation `operationName` (or the document's only one) of `query` over the graph;
 * resolves to GitHub's answer shape: `{data}`, `{data, errors}` when some fields failed, or
 * `{errors}` when the request was refused.
 */
export function answerQuery(query: string, variables: Record<string, unknown>, roots: GraphRoots, operationName?: string): { data?: unknown; errors?: GitHubGraphQLError[] } {
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return { errors: [{ message: `Parse error: ${(error as Error).message}` }] };
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return { errors: [{ message: operationName ? `No operation named '${operationName}'` : 'An operation name is required when the document has several' }] };
  if (operation.operation === 'subscription') return { errors: [{ message: 'Subscriptions are not supported' }] };
  const errors: Errors = [];
  try {
    const data = select(operation.selectionSet, operation.operation === 'mutation' ? roots.mutation : roots.query, variables, [], errors);
    return errors.length ? { data, errors } : { data };
  } catch (error) {
    if (error instanceof QueryError) return { errors: [error.detail] };
    throw error;
  }
}

/** Throw from a graph function to fail that field with a GitHub GraphQL error (`NOT_FOUND`, `FORBIDDEN` ...). */
export function graphqlFailure(type: string, message: string): never {
  throw new QueryError({ type, message }, 'execution');
}

/** Throw from a graph function to refuse the whole request, as GitHub's validation does (an argument it does not take). */
export function graphqlRejected(message: string, extensions: Record<string, unknown>): never {
  throw new QueryError({ message, extensions }, 'validation');
}

/**
 * The `input` argument of a mutation, refused when it holds a field the mutation does not take
 * (GitHub: `argumentNotAccepted`), so a misspelt input fails its test.
 */
export function inputOf(args: Record<string, unknown>, type: string, accepted: readonly string[]): Record<string, unknown> {
  const input = (args.input && typeof args.input === 'object' ? args.input : {}) as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!accepted.includes(key)) graphqlRejected(`InputObject '${type}' doesn't accept argument '${key}'`, { code: 'argumentNotAccepted', name: type, typeName: 'InputObject', argumentName: key });
  }
  return input;
}
