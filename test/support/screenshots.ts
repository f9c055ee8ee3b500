/**
 * Screenshots the browser tests take, and what a test can check of them without a human: where they
 * are (a directory outside the repository, printed in the test output), their size, and whether
 * they show something (a PNG's pixels decoded and their variety counted), plus an accessibility
 * check with axe-core injected into the page.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';

/** Where screenshots go: `SCREENSHOT_DIR`, or `wcs-hooks-screenshots` in the system's temp directory. */
export function screenshotDir(): string {
  const dir = process.env.SCREENSHOT_DIR ?? join(tmpdir(), 'wcs-hooks-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Screenshot {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** How many distinct colours (RGB, of a sample of pixels) it shows: 1 for a blank image. */
  readonly colours: number;
}

/** Takes a full-page screenshot of `page` as `<name>.png`, prints its path, and reads it back. */
export async function screenshot(page: Page, name: string): Promise<Screenshot> {
  const path = join(screenshotDir(), `${name}.png`);
  const png = await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return { path, ...pngSummary(png) };
}

/**
 * The dimensions of a PNG (8-bit RGB or RGBA, non-interlaced, as Chromium writes them) and the
 * number of distinct colours among its pixels (every 7th pixel of every 7th row).
 */
export function pngSummary(png: Buffer): { width: number; height: number; colours: number } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const bitDepth = png[24];
  const colourType = png[25];
  const channels = colourType === 6 ? 4 : colourType === 2 ? 3 : 0;
  if (bitDepth !== 8 || channels === 0)
    throw new Error(`unexpected PNG: depth ${bitDepth}, colour type ${colourType}`);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows: Buffer[] = [];
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start];
    const line = Buffer.from(raw.subarray(start + 1, start + 1 + stride));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (line[x - channels] as number) : 0;
      const b = previous[x] as number;
      const c = x >= channels ? (previous[x - channels] as number) : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const add =
        filter === 1
          ? a
          : filter === 2
            ? b
            : filter === 3
              ? (a + b) >> 1
              : filter === 4
                ? pa <= pb && pa <= pc
                  ? a
                  : pb <= pc
                    ? b
                    : c
                : 0;
      line[x] = ((line[x] as number) + add) & 0xff;
    }
    rows.push(line);
    previous = line;
  }
  const colours = new Set<number>();
  for (let y = 0; y < height; y += 7)
    for (let x = 0; x < width; x += 7) {
      const row = rows[y] as Buffer;
      const i = x * channels;
      colours.add(((row[i] as number) << 16) | ((row[i + 1] as number) << 8) | (row[i + 2] as number));
    }
  return { width, height, colours: colours.size };
}

const require = createRequire(import.meta.url);

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** The serious and critical accessibility violations axe-core finds in `page` as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations as {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: string[] }[];
    }[];
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
}

/**
 * What a page shows at a desktop's width (1280) and at a phone's (390): a screenshot of each
 * (`<name>-desktop`, `<name>-phone`), how wide the page lays out at each (no wider than the window,
 * if all is well), and axe-core's serious and critical violations at the desktop width. Leaves the
 * page at the desktop width.
 */
export async function desktopAndPhone(page: Page, name: string) {
  const widthOf = async () => Number(await page.evaluate('document.documentElement.scrollWidth'));
  await page.setViewportSize({ width: 1280, height: 900 });
  const desktop = { scrollWidth: await widthOf(), shot: await screenshot(page, `${name}-desktop`) };
  const violations = await seriousAxeViolations(page);
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = { scrollWidth: await widthOf(), shot: await screenshot(page, `${name}-phone`) };
  await page.setViewportSize({ width: 1280, height: 900 });
  return { desktop, phone, violations };
}
