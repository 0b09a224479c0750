/**
 * The team's board at a glance: each Status column of `<team> Board` with its item count, as the
 * console shows it. One request finds the board (cached by the caller through `boardId`), then one
 * per 100 items reads only each item's Status.
 */
import { findBoard, graphql, type GitHub } from './github.ts';

/** One column of the board. */
export interface BoardColumn {
  name: string;
  count: number;
}

/** The board's columns in the board's order; items without a Status are counted as `(no status)`. */
export interface BoardColumns {
  title: string;
  url: string;
  columns: BoardColumn[];
  items: number;
}

const COLUMNS_QUERY = `query BmBoardColumns($projectId: ID!, $cursor: String) {
  node(id: $projectId) {
    ... on ProjectV2 {
      field(name: "Status") { ... on ProjectV2SingleSelectField { options { name } } }
      items(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes { fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { name } } }
      }
    }
  }
}`;

type Page = {
  node: {
    field: { options?: { name: string }[] } | null;
    items: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: ({ fieldValueByName: { name?: string } | null } | null)[] };
  } | null;
};

/** Reads the columns of the board titled `title` of `owner`; undefined when there is no such board. */
export async function readBoardColumns(gh: GitHub, owner: string, title: string): Promise<BoardColumns | undefined> {
  const board = await findBoard(gh, owner, title);
  if (!board) return undefined;
  const counts = new Map<string, number>();
  let options: string[] = [];
  let items = 0;
  let cursor: string | null = null;
  // At most 50 pages (5,000 items): the console shows counts, not an archive.
  for (let page = 0; page < 50; page++) {
    const data: Page = await graphql<Page>(gh, `read the board '${title}'`, COLUMNS_QUERY, { projectId: board.id, cursor });
    if (!data.node) return undefined;
    options = data.node.field?.options?.map((o) => o.name) ?? options;
    for (const node of data.node.items.nodes) {
      if (!node) continue;
      items++;
      const status = node.fieldValueByName?.name ?? '(no status)';
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    if (!data.node.items.pageInfo.hasNextPage || !data.node.items.pageInfo.endCursor) break;
    cursor = data.node.items.pageInfo.endCursor;
  }
  const names = [...options, ...[...counts.keys()].filter((n) => !options.includes(n))];
  return { title: board.title, url: board.url, columns: names.map((name) => ({ name, count: counts.get(name) ?? 0 })), items };
}
