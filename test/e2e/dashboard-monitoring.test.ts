/**
 * The live page's monitoring, in headless Chromium: the WCS nodes with their state from the node
 * poller (up, then unusable with the reason when the node answers 500), and, when a stream is selected,
 * a chart of its metric samples (OAM's `/stream/{nodeId}/{mediaId}`). Waits are bounded; no time is
 * asserted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

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
  page = await browser.newPage();
  await page.goto(`${server.baseUrl}/?token=${TOKEN}`);
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

  it("draws a selected stream's metric samples", async () => {
    const response = await fetch(`${server.baseUrl}/api/profile/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'page', rate: '1', metrics: ['3'] }),
    });
    expect(response.status).toBe(200);
    const stream = wcs.newStream(wcs.newSession(), `chart-${randomUUID().slice(0, 6)}`, true);
    await wcs.goLive(stream, { VIDEO_RATE: 250_000 });
    const row = page.locator(`#streams tr[data-key="${stream.mediaSessionId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    await page.locator('#chart-legend', { hasText: 'VIDEO_RATE: 250000' }).waitFor({ timeout: 20_000 });
    wcs.setMetrics(stream.mediaSessionId, { VIDEO_RATE: 500_000 });
    await page.locator('#chart-legend', { hasText: 'VIDEO_RATE: 500000' }).waitFor({ timeout: 20_000 });
    const points = (await page.locator('#chart-line').getAttribute('points')) ?? '';
    expect(points.split(' ').length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#chart-name').textContent()).toBe(stream.name);
  }, 90_000);
});
