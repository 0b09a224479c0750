/**
 * `bm approve ITEM [COMMENT]`: passes an item through its human gate: the item moves to the
 * gate's next status, `needs-human` goes, the operator's comment is posted, and the next
 * status's owners are woken (lib/inbox.ts).
 */
import { defineCommand, isMain, jsonOption, runMain, teamOption } from '../lib/cli.ts';
import { approveItem, describeAction } from '../lib/inbox.ts';
import { out, printJson } from '../lib/output.ts';
import { itemNumber } from './answer.ts';

export const command = defineCommand({
  name: 'approve',
  summary: 'Approve an item waiting in a human gate: it moves on',
  args: [
    { name: 'item', description: 'issue number, as `bm inbox` lists it', required: true },
    { name: 'comment', description: 'optional comment posted with the approval' },
  ],
  options: { team: teamOption, json: jsonOption },
  examples: ['bm approve 12', 'bm approve 12 "Good design; keep the API small."'],
  async run(cli) {
    const result = await approveItem(cli.string('team'), itemNumber(cli.args.item), cli.args.comment);
    if (cli.flag('json')) return printJson(result);
    for (const line of describeAction(result)) out(line);
  },
});

if (isMain(import.meta.url, command)) void runMain(command);
