/**
 * The Chromium the end-to-end tests drive: `CHROMIUM_PATH`, or the one `npm test`'s prerequisites
 * step found or installed (`infra/dev/test-prerequisites.ts` writes it to `.data/chromium-path`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

const found = new URL('../../.data/chromium-path', import.meta.url);

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (existsSync(found)) return readFileSync(found, 'utf8').trim();
  return '/usr/bin/chromium';
}

/** Headless Chromium as the end-to-end tests drive it: no sandbox, GPU, QUIC or background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The live console served by `baseUrl` (`/console`, as AWS serves it) in a new Chromium page of
 * `viewport`, once it has connected and loaded the current state. Close `browser` when done.
 */
export async function openConsole(
  baseUrl: string,
  token: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport });
  await page.goto(`${baseUrl}/console?token=${token}`);
  await page.locator('#status.connected').waitFor({ timeout: 20_000 });
  return { browser, page };
}
