/**
 * `bm reject ITEM WHY`: sends an item in a human gate back (the gate's reject status) with the
 * operator's reason, removes `needs-human` and wakes the owners of that status (lib/inbox.ts).
 */
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { describeAction, rejectItem } from '../lib/inbox.ts';
import { out, printJson } from '../lib/output.ts';
import { itemNumber } from './answer.ts';

export const command = defineCommand({
  name: 'reject',
  summary: 'Reject an item waiting in a human gate: it goes back, with your reason',
  args: [
    { name: 'item', description: 'issue number, as `bm inbox` lists it', required: true },
    { name: 'why', description: 'what must change (posted as a comment)', required: true },
  ],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm reject 12 "The design ignores the offline case; cover it."'],
  async run(cli) {
    const result = await rejectItem(cli.string('team'), itemNumber(cli.args.item), cli.args.why ?? '');
    if (cli.flag('json')) return printJson(result);
    for (const line of describeAction(result)) out(line);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
