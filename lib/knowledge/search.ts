/**
 * Full-text search over a team's knowledge and invariant files.
 *
 * A file matches when it contains every word of the query (case-insensitive). Files are ranked
 * by a small score: how often the words occur (capped, so one long file cannot drown the rest),
 * plus bonuses for a word in the file name, a word in a Markdown heading, and the whole query
 * as a phrase. Everything is read synchronously in one pass: a team of 2,000 small files is a
 * few megabytes, which is faster to scan than to index.
 */
import { Buffer } from 'node:buffer';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../output.ts';
import { KINDS, filesUnder, resolveKnowledgeFile, scopeDir, type Scope } from './scopes.ts';

/** One matching line. */
export interface SearchHit {
  scope: Scope['scope'];
  member?: string;
  project?: string;
  /** Path relative to the team repo. */
  path: string;
  /** 1-based line number. */
  line: number;
  /** The line, trimmed and shortened around the first match. */
  snippet: string;
  /** The file's score: hits of one file share it. */
  score: number;
}

/** What a search found. */
export interface SearchResult {
  terms: string[];
  /** Files searched (text files only). */
  searched: number;
  /** Files that matched, before `limit`. */
  matched: number;
  hits: SearchHit[];
}

/** Search tuning. */
export interface SearchOptions {
  /** Most files to return (default 50). */
  limit?: number;
  /** Most lines to show per file (default 5). */
  linesPerFile?: number;
}

const MAX_FILE_BYTES = 1024 * 1024;
const SNIPPET_WIDTH = 160;

/** Splits a query into distinct lower-case words; an empty query is a usage error. */
export function queryTerms(query: string): string[] {
  const terms = [...new Set(query.toLowerCase().split(/\s+/).filter(Boolean))];
  if (terms.length === 0) throw new UsageError('The search query is empty', 'Pass one or more words, e.g. `bm knowledge search commit message`.');
  return terms;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function countOf(haystack: string, needle: string, cap: number): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1 && count < cap; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
// One buffer reused for every file: reading into it needs no fstat and no allocation per file.
const buffer = Buffer.allocUnsafe(MAX_FILE_BYTES + 1);

/** The text of a file worth searching, or undefined (too big, binary, or an escaping symlink). */
function readText(repo: string, rel: string, link: boolean): string | undefined {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO among the files must not hang the search (it fails with EAGAIN instead).
    fd = openSync(link ? resolveKnowledgeFile(repo, rel).real : path.join(repo, rel), constants.O_RDONLY | constants.O_NONBLOCK);
    let length = 0;
    while (length < buffer.length) {
      const wanted = buffer.length - length;
      const n = readSync(fd, buffer, length, wanted, null);
      length += n;
      // A regular file reads short only at its end: no second read to be told so.
      if (n < wanted) break;
    }
    if (length > MAX_FILE_BYTES) return undefined;
    const bytes = buffer.subarray(0, length);
    if (bytes.subarray(0, 8192).includes(0)) return undefined;
    return decoder.decode(bytes);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function snippetOf(line: string, lower: string, terms: readonly string[]): string {
  const text = line.trim();
  if (text.length <= SNIPPET_WIDTH) return text;
  const offset = line.length - line.trimStart().length;
  const first = Math.min(...terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0)) - offset;
  const start = Math.max(0, Math.min(first - SNIPPET_WIDTH / 4, text.length - SNIPPET_WIDTH));
  return `${start > 0 ? '…' : ''}${text.slice(start, start + SNIPPET_WIDTH)}${start + SNIPPET_WIDTH < text.length ? '…' : ''}`;
}

/** Searches the knowledge and invariant files of `scopes` for `query`; best files first. */
export function searchKnowledge(repo: string, scopes: readonly Scope[], query: string, options: SearchOptions = {}): SearchResult {
  const terms = queryTerms(query);
  const phrase = terms.length > 1 ? query.trim().toLowerCase().replace(/\s+/g, ' ') : undefined;
  const limit = options.limit ?? 50;
  const perFile = options.linesPerFile ?? 5;
  const patterns = terms.map((t) => new RegExp(escapeRegExp(t), 'i'));
  let searched = 0;
  const matches: { scope: Scope; path: string; score: number; lines: { line: number; snippet: string }[] }[] = [];
  for (const scope of scopes) {
    for (const kind of KINDS) {
      for (const file of filesUnder(repo, scopeDir(scope, kind))) {
        const text = readText(repo, file.path, file.link);
        if (text === undefined) continue;
        searched++;
        // A case-insensitive regex test is cheaper than lower-casing files that do not match.
        if (!patterns.every((p) => p.test(text))) continue;
        const lower = text.toLowerCase();
        if (!terms.every((t) => lower.includes(t))) continue;
        const name = path.posix.basename(file.path).toLowerCase();
        let score = phrase && lower.includes(phrase) ? 10 : 0;
        for (const t of terms) score += countOf(lower, t, 10) + (name.includes(t) ? 5 : 0);
        const lines: { line: number; snippet: string; weight: number }[] = [];
        const rawLines = text.split('\n');
        const headingTerms = new Set<string>();
        rawLines.forEach((raw, i) => {
          const low = raw.toLowerCase();
          const found = terms.filter((t) => low.includes(t));
          if (found.length === 0) return;
          if (/^\s*#/.test(raw)) for (const t of found) headingTerms.add(t);
          lines.push({ line: i + 1, snippet: snippetOf(raw, low, found), weight: found.length });
        });
        score += 3 * headingTerms.size;
        const shown = [...lines].sort((a, b) => b.weight - a.weight || a.line - b.line).slice(0, perFile).sort((a, b) => a.line - b.line);
        matches.push({ scope, path: file.path, score, lines: shown.map(({ line, snippet }) => ({ line, snippet })) });
      }
    }
  }
  matches.sort((a, b) => b.score - a.score || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hits = matches.slice(0, limit).flatMap((m) => m.lines.map((l) => ({
    scope: m.scope.scope,
    ...(m.scope.member ? { member: m.scope.member } : {}),
    ...(m.scope.project ? { project: m.scope.project } : {}),
    path: m.path,
    line: l.line,
    snippet: l.snippet,
    score: m.score,
  })));
  return { terms, searched, matched: matches.length, hits };
}

/** Wraps every occurrence of the terms in `text` with `mark` (case-insensitive, longest first). */
export function highlight(text: string, terms: readonly string[], mark: (s: string) => string): string {
  if (terms.length === 0) return text;
  const escaped = [...terms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return text.replace(new RegExp(escaped.join('|'), 'gi'), (m) => mark(m));
}
