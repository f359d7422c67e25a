/**
 * A real headless Chromium (Debian's /usr/bin/chromium, installed by `scripts/bootstrap.mjs
 * --chromium`) driven by playwright-core, which never downloads a browser of its own. Launched
 * as a browser server so the test knows its pid and stops it by pid if closing fails. Playwright
 * gives every launch a fresh, empty profile directory and removes it on close.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { pidAlive } from '@session-auth/topology';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Flags that keep a headless Chromium quiet and local: no GPU, no QUIC, no background fetches. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  readonly browser: Browser;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: run \`node scripts/bootstrap.mjs --chromium\` (npm test does)`);
  const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    pid,
    async close() {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      if (pid !== undefined && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}

/** Screenshots go to .run/screenshots/<suite> (git-ignored), one PNG per page state. */
export function screenshotter(suite: string) {
  const dir = join(new URL('../../../', import.meta.url).pathname, '.run', 'screenshots', suite);
  mkdirSync(dir, { recursive: true });
  const taken: string[] = [];
  return {
    dir,
    taken,
    /** fullPage: false for a modal dialog, whose backdrop covers the viewport only. */
    async shot(page: Page, name: string, fullPage = true): Promise<void> {
      const path = join(dir, `${String(taken.length + 1).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path, fullPage });
      taken.push(path);
    },
  };
}
