/**
 * Questions to the operator on a TTY. Commands never prompt when stdin is not a TTY: they
 * require the equivalent flag instead (`--yes`, `--non-interactive`).
 */
import process from 'node:process';
import { createInterface } from 'node:readline/promises';

/** True when bm may ask questions. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI;
}

/** Asks a question; an empty answer gives `fallback`. */
export async function ask(question: string, fallback = ''): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `)).trim();
    return answer || fallback;
  } finally {
    rl.close();
  }
}

/** Asks a yes/no question; the default is no. */
export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test(await ask(`${question} (y/N)`));
}

/** Asks to pick one of `choices` by number or name. */
export async function choose(question: string, choices: readonly string[], fallback = choices[0]): Promise<string> {
  for (;;) {
    const listing = choices.map((c, i) => `  ${i + 1}) ${c}`).join('\n');
    process.stderr.write(`${question}\n${listing}\n`);
    const answer = await ask('Choice', fallback);
    const byNumber = choices[Number.parseInt(answer, 10) - 1];
    if (byNumber) return byNumber;
    if (choices.includes(answer)) return answer;
    process.stderr.write(`Please answer with a number from 1 to ${choices.length}.\n`);
  }
}
