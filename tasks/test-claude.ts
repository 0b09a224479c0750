/**
 * `npm run test:claude`: the opt-in contract test against the real Claude Code CLI
 * (test/integration/claude-contract.test.ts). Installs @anthropic-ai/claude-code on demand into
 * .tools/claude (gitignored, reused by later runs; it is ~360 MB, so no regular install carries
 * it), then runs that one test file with BM_REAL_CLAUDE naming the program.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const ROOT = path.resolve(import.meta.dirname, '..');
const PREFIX = path.join(ROOT, '.tools', 'claude');
const CLAUDE = path.join(PREFIX, 'node_modules', '.bin', 'claude');

if (!existsSync(CLAUDE) || process.argv.includes('--update')) {
  console.error(`test:claude: installing @anthropic-ai/claude-code into ${path.relative(ROOT, PREFIX)}`);
  mkdirSync(PREFIX, { recursive: true });
  const install = spawnSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '@anthropic-ai/claude-code@latest'], { stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('Error: could not install Claude Code. See npm\'s output above; run `npm run test:claude` again.');
    process.exit(1);
  }
}
const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tasks', 'test.ts'), 'integration/claude-contract'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BM_REAL_CLAUDE: CLAUDE } });
process.exitCode = run.status ?? 1;
