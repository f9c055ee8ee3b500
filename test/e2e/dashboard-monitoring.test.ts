/**
 * The live page's monitoring, in headless Chromium: the WCS nodes with their state from the node
 * poller (up, then unusable with the reason when the node answers 500), and, when a stream is selected,
 * a uPlot chart of each metric its profile samples (OAM's `/stream/{nodeId}/{mediaId}`), with its unit
 * and a UTC time axis, and its bitrate in the list; screenshots at a desktop's and a phone's width, and
 * axe-core's check. Waits are bounded; no time is asserted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { screenshot, seriousAxeViolations } from '../support/screenshots.ts';

const TOKEN = 'monitoring-page-token';
let server: RunningHookServer;
let browser: Browser;
let page: Page;
let wcs: FakeWcs;
let rest: FakeWcsRest;

beforeAll(async () => {
  await useOwnTables('page');
  server = await startHookServer(
    { API_TOKEN: TOKEN, NODE_POLL_INTERVAL_S: '1', WCS_REST_TIMEOUT_MS: '1000' },
    { realtime: true, poller: true },
  );
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `mon-${randomUUID().slice(0, 6)}` });
  rest = await new FakeWcsRest({ node: wcs }).start();
  const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
  await putNodeUrl(wcs.nodeId, rest.url);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // `/console`: the page as AWS serves it, self-contained, from the realm-api function.
  await page.goto(`${server.baseUrl}/console?token=${TOKEN}`);
  await page.locator('#status.connected').waitFor({ timeout: 15_000 });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rest?.close();
});

describe('the live page', () => {
  it('shows each WCS node up, then unusable with the reason when it answers 500', async () => {
    const session = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(session));
    const row = page.locator(`#nodes tr[data-key="${wcs.nodeId}"]`);
    await page
      .locator(`#nodes tr[data-key="${wcs.nodeId}"] td:nth-child(2)`, { hasText: 'up' })
      .waitFor({ timeout: 20_000 });
    rest.streamAnswers = 'error';
    try {
      await page
        .locator(`#nodes tr[data-key="${wcs.nodeId}"] td:nth-child(2)`, { hasText: 'unusable' })
        .waitFor({ timeout: 20_000 });
      const cells = await row.locator('td').allTextContents();
      expect(cells[0]).toBe(wcs.nodeId);
      expect(cells[3]).toMatch(/answered 500/);
    } finally {
      rest.streamAnswers = 'normal';
    }
    await page
      .locator(`#nodes tr[data-key="${wcs.nodeId}"] td:nth-child(2)`, { hasText: 'up' })
      .waitFor({ timeout: 20_000 });
  }, 90_000);

  it("charts every metric of a selected stream's profile, with its unit and UTC time, and its bitrate in the list", async () => {
    const response = await fetch(`${server.baseUrl}/api/profile/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      // Video rate, video FPS, audio rate.
      body: JSON.stringify({ name: 'page', rate: '1', metrics: ['3', '5', '10'] }),
    });
    expect(response.status).toBe(200);
    // And an OAM threshold alarm: a video rate above 400,000 bits per second.
    const alarm = await fetch(`${server.baseUrl}/api/alarm/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: '1', name: 'video too fast', value: '400000', metric: '3', time: '0' }),
    });
    expect(alarm.status).toBe(200);
    const stream = wcs.newStream(wcs.newSession(), `chart-${randomUUID().slice(0, 6)}`, true);
    await wcs.goLive(stream, { VIDEO_RATE: 250_000, VIDEO_FPS: 30, AUDIO_RATE: 32_000 });
    const row = page.locator(`#streams tr[data-key="${stream.mediaSessionId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.getByRole('button', { name: stream.name }).click();

    const chart = (metric: string) => page.locator(`#charts figure[data-metric="${metric}"]`);
    await chart('AUDIO_RATE').waitFor({ timeout: 20_000 });
    wcs.setMetrics(stream.mediaSessionId, { VIDEO_RATE: 500_000, VIDEO_FPS: 25, AUDIO_RATE: 32_000 });
    await page
      .locator('#charts figure[data-metric="VIDEO_RATE"][data-latest="500000"]')
      .waitFor({ timeout: 20_000 });

    // The threshold crossed: an active alarm, and in the history.
    const active = page.locator('#active tbody tr', { hasText: 'video too fast' });
    await active.waitFor({ timeout: 20_000 });
    expect(await active.locator('td').allTextContents()).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/),
      'THRESHOLD',
      `video too fast: Video rate 500000 > 400000 (bits per second) on ${stream.name} at ${wcs.nodeId}`,
    ]);
    expect(
      await page.locator('#history tbody tr', { hasText: 'video too fast' }).first().textContent(),
    ).toContain('THRESHOLD RAISED');
    expect(await page.locator('#charts figure h3').allTextContents()).toEqual([
      'Video rate (bits per second)',
      'Video FPS (frames per second)',
      'Audio rate (bits per second)',
    ]);
    expect(await page.locator('#chart-name').textContent()).toBe(stream.name);
    expect(await page.locator('#chart-note').textContent()).toMatch(
      /^\d+ samples, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/,
    );
    // uPlot draws on a canvas, the time axis labelled in UTC; its legend names the series.
    for (const metric of ['VIDEO_RATE', 'VIDEO_FPS', 'AUDIO_RATE']) {
      expect(await chart(metric).locator('canvas').count()).toBe(1);
      expect(await chart(metric).locator('.u-legend').textContent()).toContain('time (UTC)');
      // Drawn: the canvas holds more than its background.
      const colours = await chart(metric)
        .locator('canvas')
        .evaluate((canvas) => {
          const c = canvas as unknown as {
            width: number;
            height: number;
            getContext(kind: '2d'): {
              getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
            };
          };
          const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
          const seen = new Set<number>();
          for (let i = 0; i < data.length; i += 4 * 13)
            seen.add(
              ((data[i] ?? 0) << 24) |
                ((data[i + 1] ?? 0) << 16) |
                ((data[i + 2] ?? 0) << 8) |
                (data[i + 3] ?? 0),
            );
          return seen.size;
        });
      expect(colours).toBeGreaterThan(5);
    }
    await page
      .locator(`#streams tr[data-key="${stream.mediaSessionId}"] td:nth-child(7)`, { hasText: '532 kbit/s' })
      .waitFor({ timeout: 20_000 });

    // Every chart within its box, and the page no wider than the window.
    for (const metric of ['VIDEO_RATE', 'VIDEO_FPS', 'AUDIO_RATE']) {
      const [figure, canvas] = await Promise.all([
        chart(metric).boundingBox(),
        chart(metric).locator('canvas').boundingBox(),
      ]);
      expect(canvas && figure && canvas.x + canvas.width <= figure.x + figure.width).toBe(true);
    }
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    const desktop = await screenshot(page, 'console-charts-desktop');
    expect(desktop.colours).toBeGreaterThan(20);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const phone = await screenshot(page, 'console-charts-phone');
    expect(phone.width).toBe(390);
    expect(phone.colours).toBeGreaterThan(20);
  }, 60_000);
});
