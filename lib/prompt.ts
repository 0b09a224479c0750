/**
 * Questions to the operator on a TTY. Commands never prompt when stdin is not a TTY: they
 * require the equivalent flag instead (`--yes`, `--non-interactive`).
 *
 * One readline interface serves every question, so answers typed (or pasted) ahead are queued
 * rather than lost when one question ends.
 */
import { createInterface, type Interface } from 'node:readline';

let rl: Interface | undefined;
const pending: string[] = [];
const waiting: ((line: string | undefined) => void)[] = [];

function reader(): Interface {
  if (rl) return rl;
  rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  rl.on('line', (line) => (waiting.length ? waiting.shift()?.(line) : pending.push(line)));
  rl.on('close', () => waiting.splice(0).forEach((resolve) => resolve(undefined)));
  return rl;
}

function nextLine(): Promise<string | undefined> {
  reader();
  if (pending.length) return Promise.resolve(pending.shift());
  return new Promise((resolve) => waiting.push(resolve));
}

/** True when bm may ask questions. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI;
}

/** Releases stdin once the questions are over, so the process can exit. */
export function closePrompts(): void {
  rl?.close();
  rl = undefined;
}

/** Asks a question; an empty answer gives `fallback`. End of input counts as the fallback. */
export async function ask(question: string, fallback = ''): Promise<string> {
  process.stderr.write(`${question}${fallback ? ` [${fallback}]` : ''}: `);
  const answer = ((await nextLine()) ?? '').trim();
  return answer || fallback;
}

/**
 * Asks for a secret (a token). On a terminal the answer is read in raw mode, so nothing typed
 * is echoed; backspace and Ctrl-U edit it, Ctrl-C cancels.
 */
export async function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  const raw = Boolean(stdin.isTTY) && typeof stdin.setRawMode === 'function';
  reader();
  if (raw) stdin.setRawMode(true);
  process.stderr.write(`${question} (not shown): `);
  let line: string;
  try {
    line = (await nextLine()) ?? '';
  } finally {
    if (raw) {
      stdin.setRawMode(false);
      process.stderr.write('\n');
    }
  }
  let answer = '';
  for (const char of line) {
    if (char === '\u0003') {
      closePrompts();
      process.exit(130);
    }
    if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
    else if (char === '\u0015') answer = '';
    else if (char >= ' ') answer += char;
  }
  return answer.trim();
}

/** Asks a yes/no question; the default is no. */
export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test(await ask(`${question} (y/N)`));
}

/** Asks to pick one of `choices` by number or name. */
export async function choose(question: string, choices: readonly string[], fallback = choices[0]): Promise<string> {
  for (let tries = 0; tries < 5; tries++) {
    const listing = choices.map((c, i) => `  ${i + 1}) ${c}`).join('\n');
    process.stderr.write(`${question}\n${listing}\n`);
    const answer = await ask('Choice', fallback);
    const byNumber = choices[Number.parseInt(answer, 10) - 1];
    if (byNumber) return byNumber;
    if (choices.includes(answer)) return answer;
    process.stderr.write(`Please answer with a number from 1 to ${choices.length}.\n`);
  }
  return fallback;
}
