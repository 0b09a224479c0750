/**
 * `bm inbox`: what waits for the operator: questions members asked (`needs-human`) and items
 * in a human gate, oldest first. One GraphQL request per 100 items (lib/inbox.ts).
 */
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { readInbox, shortAge } from '../lib/inbox.ts';
import { out, printJson, printTable } from '../lib/output.ts';

export const command = defineCommand({
  name: 'inbox',
  summary: 'List what waits for you: members\' questions and human-gate approvals',
  description: [
    'Every open issue of the team labelled `needs-human`, oldest first: its kind (`question`, answer it',
    'with `bm answer`; `gate`, approve or reject it with `bm approve` / `bm reject`), board status, age,',
    'the member that asked and the question (the member\'s last comment). `-v` prints each question in full.',
  ].join('\n'),
  options: {
    verbose: { type: 'boolean', short: 'v', description: 'print each question in full below the table' },
    team: teamOption,
    json: jsonOption,
  },
  examples: ['bm inbox', 'bm inbox --json', 'bm inbox -v -t alpha'],
  async run(cli) {
    const inbox = await readInbox(cli.string('team'));
    if (cli.flag('json')) return printJson(inbox);
    if (inbox.items.length === 0) return out(`Nothing waits for you in team '${inbox.team}'.`);
    const oneLine = (text: string | null) => {
      const line = (text ?? '').split('\n').find((l) => l.trim()) ?? '';
      return line.length > 60 ? `${line.slice(0, 57)}...` : line;
    };
    printTable(['#', 'Kind', 'Status', 'Age', 'Asked by', 'Title', 'Question'],
      inbox.items.map((i) => [String(i.number), i.kind, i.status ?? '-', shortAge(i.ageSeconds), i.askedBy ?? '-', i.title, oneLine(i.question)]));
    if (cli.flag('verbose')) {
      for (const i of inbox.items) out(`\n#${i.number} ${i.title}\n${i.url}\n${i.question ?? '(no question found)'}`);
    }
    out('');
    out('Answer with `bm answer N "text"`; approve or reject a gate with `bm approve N` / `bm reject N "why"`.');
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
