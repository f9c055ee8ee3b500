/**
 * The Chromium the end-to-end tests drive: `CHROMIUM_PATH`, or the one `npm test`'s prerequisites
 * step found or installed (`infra/dev/test-prerequisites.ts` writes it to `.data/chromium-path`).
 */
import { existsSync, readFileSync } from 'node:fs';

const found = new URL('../../.data/chromium-path', import.meta.url);

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (existsSync(found)) return readFileSync(found, 'utf8').trim();
  return '/usr/bin/chromium';
}
