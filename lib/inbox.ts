/**
 * The operator's inbox: every open issue of the team that waits for a human, and the three ways
 * to clear one. The CLI (`bm inbox|answer|approve|reject`) and the web console both call these
 * functions; neither talks to GitHub about the inbox in any other way.
 *
 * Signatures (the contract with the console):
 *
 *   readInbox(teamName?: string): Promise<Inbox>                         // = `bm inbox --json`
 *   answerItem(teamName: string | undefined, number: number, text: string, origin?: string): Promise<ItemActionResult>
 *   approveItem(teamName: string | undefined, number: number, comment?: string, origin?: string): Promise<ItemActionResult>
 *   rejectItem(teamName: string | undefined, number: number, why: string, origin?: string): Promise<ItemActionResult>
 *
 * `origin` ('cli' by default, 'console' for the web console) is written to the team's daemon
 * journal with each action. Failures are `BmError`s (`Error: <what>. <how to fix>`).
 *
 * What waits for the operator: an open issue of the team repo labelled `needs-human`. A member
 * asks a question by commenting and adding the label; a member that moves an item into a human
 * gate's status (lib/gates.ts) adds the label too. So the whole inbox is one GitHub search,
 * read with ONE GraphQL request per 100 waiting items (never one per item), whatever the size of
 * the board; the token's login comes with it (`viewer`).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { askDaemon } from './daemon/lock.ts';
import { daemonPaths } from './daemon/files.ts';
import { gateForStatus, type HumanGate } from './gates.ts';
import type { GitHub } from './github.ts';
import { isValidName } from './names.ts';
import { BmError } from './output.ts';
import { listMembers, loadTeamFromFlag, type Team } from './team.ts';

/** The label that puts an item in the inbox. */
export const NEEDS_HUMAN = 'needs-human';

/** One item waiting for the operator. */
export interface InboxItem {
  /** Issue number in the team repo. */
  number: number;
  title: string;
  /** The issue's web page. */
  url: string;
  /** `gate` when the item sits in a human gate's status (approve/reject it), else `question` (answer it). */
  kind: 'question' | 'gate';
  /** Board status, or null when the item is not on the team's board. */
  status: string | null;
  /** The gate's name for a gate item (`design`, `accept`, ...), else null. */
  gate: string | null;
  /** The last comment a member wrote (header and trailers removed), or null when there is none. */
  question: string | null;
  /** The member that wrote it (its `Member:` trailer), or null when unknown. */
  askedBy: string | null;
  /** When the item started waiting (the `needs-human` label was added; else the question, else the issue). */
  waitingSince: string;
  ageSeconds: number;
}

/** What `readInbox` returns and `bm inbox --json` prints. */
export interface Inbox {
  team: string;
  /** Oldest first. */
  items: InboxItem[];
}

/** What an answer, approval or rejection did. */
export interface ItemActionResult {
  team: string;
  number: number;
  url: string;
  action: 'answer' | 'approve' | 'reject';
  /** The operator's comment on the issue. */
  commentUrl: string | null;
  /** True when the `needs-human` label was removed. */
  removedLabel: boolean;
  /** Board status before and after (equal for an answer; null off the board). */
  status: { from: string | null; to: string | null };
  /** The members to wake: the one that asked, or the owners of the new status. */
  members: string[];
  /** True when the running daemon accepted the wake-up. */
  woken: boolean;
  /** What the operator should do when nobody was woken, else null. */
  hint: string | null;
  origin: string;
}

// ---------------------------------------------------------------------------------------------
// GitHub access

const COMMENT_FIELDS = 'comments(last: 30) { nodes { author { login } body createdAt url } }';
const STATUS_VALUE = 'fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { name } }';

const INBOX_QUERY = `query BmInbox($search: String!, $cursor: String) {
  viewer { login }
  search(type: ISSUE, query: $search, first: 100, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes {
      ... on Issue {
        number title url createdAt
        projectItems(first: 10) { nodes { project { title } ${STATUS_VALUE} } }
        ${COMMENT_FIELDS}
        timelineItems(last: 20, itemTypes: [LABELED_EVENT]) { nodes { ... on LabeledEvent { createdAt label { name } } } }
      }
    }
  }
}`;

const ITEM_QUERY = `query BmInboxItem($owner: String!, $name: String!, $number: Int!) {
  viewer { login }
  repository(owner: $owner, name: $name) {
    issue(number: $number) {
      id number title url state
      labels(first: 50) { nodes { id name } }
      projectItems(first: 10) {
        nodes {
          id
          project { id title field(name: "Status") { ... on ProjectV2SingleSelectField { id options { id name } } } }
          ${STATUS_VALUE}
        }
      }
      ${COMMENT_FIELDS}
    }
  }
}`;

interface CommentNode {
  author: { login: string } | null;
  body: string;
  createdAt: string;
  url: string;
}

interface SearchIssue {
  number?: number;
  title: string;
  url: string;
  createdAt: string;
  projectItems: { nodes: ({ project: { title: string }; fieldValueByName: { name?: string } | null } | null)[] };
  comments: { nodes: (CommentNode | null)[] };
  timelineItems: { nodes: ({ createdAt?: string; label?: { name: string } } | null)[] };
}

interface ItemIssue {
  id: string;
  number: number;
  title: string;
  url: string;
  state: string;
  labels: { nodes: ({ id: string; name: string } | null)[] };
  projectItems: {
    nodes: ({
      id: string;
      project: { id: string; title: string; field: { id?: string; options?: { id: string; name: string }[] } | null };
      fieldValueByName: { name?: string } | null;
    } | null)[];
  };
  comments: { nodes: (CommentNode | null)[] };
}

interface Connection {
  team: Team;
  gh: GitHub;
  owner: string;
  repo: string;
  board: string;
}

/** Connects to the team's GitHub; `rest: false` for reads, which are GraphQL alone. */
async function connect(teamName: string | undefined, rest = true): Promise<Connection> {
  const team = loadTeamFromFlag(teamName);
  const slug = team.entry.github_repo;
  if (!slug) {
    throw new BmError(`Team '${team.name}' has no GitHub repository, so it has no inbox`, 'The inbox lives on the team\'s GitHub board: create the team with `bm init --github-repo OWNER/NAME`.');
  }
  const github = await import('./github.ts');
  const { owner, repo } = github.parseRepoSlug(slug);
  const gh = await github.createGitHub({ token: team.entry.credentials?.gh_token || process.env.GH_TOKEN, rest });
  return { team, gh, owner, repo, board: `${team.name} Board` };
}

async function query<T>(gh: GitHub, doing: string, text: string, variables: Record<string, unknown>): Promise<T> {
  const { graphql } = await import('./github.ts');
  return graphql<T>(gh, doing, text, variables);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A member's comment: `### <emoji> <role> — <time>` first, `Member: <name>` among its last lines. */
const MEMBER_HEADER = /^### \S+ [a-z0-9-]+ — /;

/** The last comment a member wrote through the team's token (the operator's own comments do not start with `### `). */
function lastMemberComment(comments: readonly (CommentNode | null)[], login: string): CommentNode | undefined {
  const own = comments.filter((c): c is CommentNode => Boolean(c && c.author?.login.toLowerCase() === login.toLowerCase()));
  return own.filter((c) => MEMBER_HEADER.test(c.body)).at(-1);
}

/** The member named by a comment's last `Member:` trailer, when it is a valid name. */
function memberOf(comment: CommentNode | undefined): string | null {
  const name = comment ? [...comment.body.matchAll(/^Member:\s*(\S+)\s*$/gm)].at(-1)?.[1] : undefined;
  return name && isValidName(name) ? name : null;
}

/** The comment's text without the header line and the trailer lines; long texts are cut. */
function questionText(comment: CommentNode): string {
  const lines = comment.body.replace(/\r\n/g, '\n').split('\n');
  if (MEMBER_HEADER.test(lines[0] ?? '')) lines.shift();
  while (lines.length && (/^[A-Z][A-Za-z-]*: \S/.test(lines.at(-1) ?? '') || !lines.at(-1)?.trim())) lines.pop();
  const text = lines.join('\n').trim();
  return text.length > 4000 ? `${text.slice(0, 3997)}...` : text;
}

function statusOn(board: string, items: readonly ({ project: { title: string }; fieldValueByName: { name?: string } | null } | null)[]): string | null {
  return items.find((i) => i?.project.title === board)?.fieldValueByName?.name ?? null;
}

/** Everything waiting for the operator, oldest first: the data of `bm inbox`. */
export async function readInbox(teamName?: string): Promise<Inbox> {
  const { team, gh, owner, repo, board } = await connect(teamName, false);
  const search = `repo:${owner}/${repo} is:issue is:open label:"${NEEDS_HUMAN}"`;
  type Page = { viewer: { login: string }; search: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: (SearchIssue | null)[] } };
  const items: InboxItem[] = [];
  const now = Date.now();
  let cursor: string | null = null;
  // GitHub's search returns at most 1000 results: 10 pages.
  for (let page = 0; page < 10; page++) {
    const data: Page = await query<Page>(gh, `read the inbox of ${owner}/${repo}`, INBOX_QUERY, { search, cursor });
    for (const issue of data.search.nodes) {
      if (!issue || typeof issue.number !== 'number') continue;
      const status = statusOn(board, issue.projectItems.nodes);
      const gate = gateForStatus(team.manifest, status);
      const asked = lastMemberComment(issue.comments.nodes, data.viewer.login);
      const labelled = issue.timelineItems.nodes.filter((e) => e?.label?.name === NEEDS_HUMAN && e.createdAt).at(-1)?.createdAt;
      const waitingSince = labelled ?? asked?.createdAt ?? issue.createdAt;
      items.push({
        number: issue.number, title: issue.title, url: issue.url, kind: gate ? 'gate' : 'question', status, gate: gate?.name ?? null,
        question: asked ? questionText(asked) : null, askedBy: memberOf(asked), waitingSince,
        ageSeconds: Math.max(0, Math.round((now - Date.parse(waitingSince)) / 1000)),
      });
    }
    if (!data.search.pageInfo.hasNextPage || !data.search.pageInfo.endCursor) break;
    cursor = data.search.pageInfo.endCursor;
  }
  items.sort((a, b) => Date.parse(a.waitingSince) - Date.parse(b.waitingSince) || a.number - b.number);
  return { team: team.name, items };
}

// ---------------------------------------------------------------------------------------------
// Acting

/** GitHub refuses comments longer than this. */
const MAX_COMMENT = 65_536;

function checkNumber(number: number): void {
  if (!Number.isInteger(number) || number < 1) throw new BmError(`Invalid item '${number}'`, 'Give the issue number, as `bm inbox` lists it (e.g. `bm answer 12 "..."`).');
}

function checkText(what: string, text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new BmError(`The ${what} is empty`, 'Write what the member should know; nothing was posted.');
  if (trimmed.length > MAX_COMMENT - 200) throw new BmError(`The ${what} is ${trimmed.length} characters long`, `GitHub accepts at most ${MAX_COMMENT} per comment: shorten it.`);
  return trimmed;
}

async function readItem(c: Connection, number: number): Promise<{ issue: ItemIssue; login: string }> {
  type Data = { viewer: { login: string }; repository: { issue: ItemIssue | null } | null };
  let data: Data;
  try {
    data = await query<Data>(c.gh, `read issue #${number} of ${c.owner}/${c.repo}`, ITEM_QUERY, { owner: c.owner, name: c.repo, number });
  } catch (error) {
    if ((error as { status?: number }).status === 404) throw notFound(c, number);
    throw error;
  }
  const issue = data.repository?.issue;
  if (!issue) throw notFound(c, number);
  if (issue.state !== 'OPEN') throw new BmError(`Issue #${number} is closed`, 'Only open items wait for the operator; see `bm inbox`.');
  return { issue, login: data.viewer.login };
}

function notFound(c: Connection, number: number): BmError {
  return new BmError(`Issue #${number} not found in ${c.owner}/${c.repo}`, 'Check the number with `bm inbox`.');
}

function boardItem(c: Connection, issue: ItemIssue) {
  return issue.projectItems.nodes.find((n) => n?.project.title === c.board) ?? undefined;
}

/** Hired members of the role that owns `status` (`arch:design` → the architects). */
function ownersOf(team: Team, status: string | null): string[] {
  const prefix = status?.split(':')[0] ?? '';
  if (!prefix || !status?.includes(':')) return [];
  return listMembers(team).filter((m) => m.role === prefix || m.role.startsWith(prefix)).map((m) => m.name);
}

/** Wakes `members` through the team's running daemon; journals the action either way. */
async function wake(team: Team, members: string[], why: string, origin: string, entry: Record<string, unknown>): Promise<{ woken: boolean; hint: string | null }> {
  const paths = daemonPaths(team.name);
  const reply = members.length ? await askDaemon(paths.sock, { type: 'wake', members, why, origin }) : undefined;
  const woken = reply?.ok === true;
  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    appendFileSync(paths.journal, `${JSON.stringify({ ts: new Date().toISOString(), ...entry, origin, members, woken })}\n`);
  } catch {
    // The journal is a record, not a precondition: the comment is already on GitHub.
  }
  if (woken) return { woken, hint: null };
  if (members.length === 0) return { woken, hint: 'No hired member owns this item; hire one with `bm hire <role>`.' };
  return { woken, hint: `The daemon is not running, so nobody was woken: start it with \`bm daemon start${team.name ? ` -t ${team.name}` : ''}\` (or run the members with \`bm start\`); they pick this up at their next scan.` };
}

function originOf(origin: string | undefined): string {
  const value = origin ?? 'cli';
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(value)) throw new BmError(`Invalid origin '${value.slice(0, 40)}'`, "Use 'cli' or 'console'.");
  return value;
}

function mutation(name: string, moves: boolean, removesLabel: boolean): string {
  const vars = ['$issueId: ID!', '$body: String!', ...(removesLabel ? ['$labelIds: [ID!]!'] : []),
    ...(moves ? ['$projectId: ID!', '$itemId: ID!', '$fieldId: ID!', '$optionId: String!'] : [])];
  return [
    `mutation ${name}(${vars.join(', ')}) {`,
    '  addComment(input: { subjectId: $issueId, body: $body }) { commentEdge { node { url } } }',
    ...(removesLabel ? ['  removeLabelsFromLabelable(input: { labelableId: $issueId, labelIds: $labelIds }) { clientMutationId }'] : []),
    ...(moves ? ['  updateProjectV2ItemFieldValue(input: { projectId: $projectId, itemId: $itemId, fieldId: $fieldId, value: { singleSelectOptionId: $optionId } }) { projectV2Item { id } }'] : []),
    '}',
  ].join('\n');
}

/** Posts the comment, removes `needs-human` and (for a move) sets the Status, in one GraphQL request. */
async function apply(c: Connection, issue: ItemIssue, body: string, move?: { to: string }): Promise<{ commentUrl: string | null; removedLabel: boolean }> {
  const label = issue.labels.nodes.find((l) => l?.name === NEEDS_HUMAN);
  const variables: Record<string, unknown> = { issueId: issue.id, body };
  if (label) variables.labelIds = [label.id];
  if (move) {
    const item = boardItem(c, issue);
    const option = item?.project.field?.options?.find((o) => o.name === move.to);
    if (!item || !item.project.field?.id || !option) {
      throw new BmError(`The board '${c.board}' has no Status option '${move.to}'`, 'Bring the board in line with the profile: `bm teams sync --board`.');
    }
    Object.assign(variables, { projectId: item.project.id, itemId: item.id, fieldId: item.project.field.id, optionId: option.id });
  }
  type Data = { addComment: { commentEdge: { node: { url: string } | null } | null } | null };
  const name = move ? 'BmMoveItem' : 'BmAnswerItem';
  const data = await query<Data>(c.gh, `update issue #${issue.number} of ${c.owner}/${c.repo}`, mutation(name, Boolean(move), Boolean(label)), variables);
  return { commentUrl: data.addComment?.commentEdge?.node?.url ?? null, removedLabel: Boolean(label) };
}

/**
 * Answers a question: posts `text` as the operator's comment, removes `needs-human`, and wakes
 * the member that asked (through the daemon, when it runs).
 */
export async function answerItem(teamName: string | undefined, number: number, text: string, origin?: string): Promise<ItemActionResult> {
  checkNumber(number);
  const body = checkText('answer', text);
  const from = originOf(origin);
  const c = await connect(teamName);
  const { issue, login } = await readItem(c, number);
  if (!issue.labels.nodes.some((l) => l?.name === NEEDS_HUMAN)) {
    throw new BmError(`Issue #${number} is not waiting for the operator (no '${NEEDS_HUMAN}' label)`, 'See what is with `bm inbox`; nothing was posted.');
  }
  const status = statusOn(c.board, issue.projectItems.nodes);
  const done = await apply(c, issue, body);
  const asker = memberOf(lastMemberComment(issue.comments.nodes, login));
  const hired = listMembers(c.team).map((m) => m.name);
  const members = asker && hired.includes(asker) ? [asker] : ownersOf(c.team, status);
  const woke = await wake(c.team, members, `the operator answered #${number}`, from, { type: 'inbox.answer', number });
  return { team: c.team.name, number, url: issue.url, action: 'answer', ...done, status: { from: status, to: status }, members, ...woke, origin: from };
}

async function decide(action: 'approve' | 'reject', teamName: string | undefined, number: number, text: string | undefined, origin: string | undefined): Promise<ItemActionResult> {
  checkNumber(number);
  const note = text === undefined || (action === 'approve' && !text.trim()) ? '' : checkText(action === 'reject' ? 'reason' : 'comment', text);
  const from = originOf(origin);
  const c = await connect(teamName);
  const { issue } = await readItem(c, number);
  const status = statusOn(c.board, issue.projectItems.nodes);
  const gate: HumanGate | undefined = gateForStatus(c.team.manifest, status);
  if (!gate) {
    throw new BmError(`Issue #${number} is ${status ? `in status '${status}', not in a human gate` : `not on the board '${c.board}'`}`,
      'Only gate items (kind `gate` in `bm inbox`) are approved or rejected; answer a question with `bm answer`.');
  }
  const to = action === 'approve' ? gate.approve : gate.reject;
  const verdict = action === 'approve' ? '**Approved**' : '**Rejected**';
  const body = `${verdict} by the operator (${gate.name} gate)${note ? `: ${note}` : '.'}\n\nStatus: ${gate.status} -> ${to}`;
  const done = await apply(c, issue, body, { to });
  const members = ownersOf(c.team, to);
  const woke = await wake(c.team, members, `the operator ${action === 'approve' ? 'approved' : 'rejected'} #${number}`, from, { type: `inbox.${action}`, number, gate: gate.name, to });
  return { team: c.team.name, number, url: issue.url, action, ...done, status: { from: status, to }, members, ...woke, origin: from };
}

/** Approves a gate item: moves it to the gate's next status with the operator's optional comment, and wakes its new owners. */
export function approveItem(teamName: string | undefined, number: number, comment?: string, origin?: string): Promise<ItemActionResult> {
  return decide('approve', teamName, number, comment, origin);
}

/** Rejects a gate item: moves it back (the gate's `reject` status) with the operator's reason, and wakes its new owners. */
export function rejectItem(teamName: string | undefined, number: number, why: string, origin?: string): Promise<ItemActionResult> {
  return decide('reject', teamName, number, why, origin);
}

// ---------------------------------------------------------------------------------------------
// Presentation (shared by the CLI commands)

/** `4m`, `3h`, `2d`: an age short enough for a table column. */
export function shortAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The lines `bm answer|approve|reject` print for a result. */
export function describeAction(result: ItemActionResult): string[] {
  const what = { answer: 'Answered', approve: 'Approved', reject: 'Rejected' }[result.action];
  const moved = result.status.from !== result.status.to ? ` and moved it ${result.status.from ?? '(none)'} -> ${result.status.to ?? '(none)'}` : '';
  const lines = [`${what} #${result.number}${moved}${result.removedLabel ? `; removed '${NEEDS_HUMAN}'` : ''}. ${result.commentUrl ?? result.url}`];
  if (result.woken) lines.push(`Woke ${result.members.join(', ')} through the daemon.`);
  if (result.hint) lines.push(result.hint);
  return lines;
}
