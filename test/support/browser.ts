/**
 * Headless Chromium for the console's browser tests and bench: Debian's `chromium` (installed by
 * tasks/setup-tools.sh) driven by playwright-core, which downloads no browser of its own.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import type { Browser } from 'playwright-core';
import { ROOT } from './sandbox.ts';

/** The Chromium binary: $BM_CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.BM_CHROMIUM || '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (run \`bash tasks/setup-tools.sh\`, which installs Debian's chromium)`;
}

/** Where screenshots go: a git-ignored folder, kept after the run as a test artefact. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/**
 * A headless Chromium (Playwright gives it a fresh, temporary profile). The flags keep it off the
 * network, which is closed here, and out of first-run work.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
