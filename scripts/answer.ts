/**
 * `bm answer ITEM [TEXT]`: answers a member's question: posts the operator's comment, removes
 * `needs-human` and wakes the member that asked (lib/inbox.ts). Without TEXT it opens $VISUAL
 * or $EDITOR on a file that shows the question; `-` reads the answer from stdin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { answerItem, describeAction, readInbox } from '../lib/inbox.ts';
import { BmError, UsageError, out, printJson } from '../lib/output.ts';

/** The issue number an ITEM argument names (`12` or `#12`). */
export function itemNumber(raw: string | undefined): number {
  const match = /^#?(\d{1,9})$/.exec(raw ?? '');
  if (!match || Number(match[1]) < 1) throw new UsageError(`'${raw ?? ''}' is not an item number`, 'Give the issue number as `bm inbox` lists it, e.g. `12`.');
  return Number(match[1]);
}

const SCISSORS = '------------------------ >8 ------------------------';

/** Opens the operator's editor on a file holding the question; returns what was written above the scissors line. */
async function fromEditor(team: string | undefined, number: number): Promise<string> {
  const editor = process.env.VISUAL || process.env.EDITOR;
  if (!editor || !process.stdin.isTTY) {
    throw new UsageError('No answer given', 'Pass it as an argument (`bm answer 12 "text"`), pipe it with `-`, or set $EDITOR and run on a terminal.');
  }
  const item = (await readInbox(team)).items.find((i) => i.number === number);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-answer-'));
  const file = path.join(dir, `answer-${number}.md`);
  try {
    writeFileSync(file, [
      '', SCISSORS, 'Write your answer above the line; everything from the line down is ignored.',
      'An empty answer posts nothing.', '',
      `#${number} ${item?.title ?? ''}`, item?.url ?? '', '', `Asked by ${item?.askedBy ?? 'a member'}:`, '', item?.question ?? '(no question found)', '',
    ].join('\n'), { mode: 0o600 });
    // $EDITOR may carry arguments (`code -w`): the shell splits it, as git does.
    const result = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
    if (result.status !== 0) throw new BmError(`The editor (${editor}) exited with ${result.status ?? result.signal}`, 'Nothing was posted.');
    const text = readFileSync(file, 'utf8');
    return text.slice(0, text.includes(SCISSORS) ? text.indexOf(SCISSORS) : undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const command = defineCommand({
  name: 'answer',
  summary: 'Answer a member\'s question: comment, clear needs-human, wake the member',
  description: [
    'Posts TEXT as your comment on the issue, removes the `needs-human` label and wakes the member that',
    'asked through the daemon (when it runs; otherwise bm says how to start it). Without TEXT, opens',
    '$VISUAL or $EDITOR with the question shown; TEXT `-` reads the answer from stdin.',
  ].join('\n'),
  args: [
    { name: 'item', description: 'issue number, as `bm inbox` lists it', required: true },
    { name: 'text', description: 'the answer (`-`: read stdin; none: open $EDITOR)' },
  ],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm answer 12 "Use PostgreSQL; SQLite is not an option for us."', 'bm answer 12', 'bm answer 12 - < answer.md'],
  async run(cli) {
    const number = itemNumber(cli.args.item);
    const team = cli.string('team');
    const given = cli.args.text;
    const text = given === '-' ? await readStdin() : given ?? (await fromEditor(team, number));
    const result = await answerItem(team, number, text);
    if (cli.flag('json')) return printJson(result);
    for (const line of describeAction(result)) out(line);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
