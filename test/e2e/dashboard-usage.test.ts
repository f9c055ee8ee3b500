/**
 * The live console's usage part, in headless Chromium (issue 27, item 3): an app's sessions,
 * publish-minutes and viewer-minutes per UTC day charted with uPlot (`usage/app`), and its top
 * streams (`usage/app` by stream), from usage made through real hooks and kept by the usage
 * consumer of this file's own tables; a question the realm refuses says why on the page.
 * Screenshots at a desktop's and a phone's width, and axe-core's check. Waits are bounded; no time
 * is asserted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { openConsole } from '../support/chromium.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { realmClients } from '../support/realm-client.ts';
import { desktopAndPhone } from '../support/screenshots.ts';

const TOKEN = 'usage-page-token';
let server: RunningHookServer;
let browser: Browser;
let page: Page;
const app = `usage-page-${randomUUID().slice(0, 6)}`;
const { restRealm } = realmClients(() => server, TOKEN);

beforeAll(async () => {
  await useOwnTables('usage-page');
  server = await startHookServer({ API_TOKEN: TOKEN }, { realtime: true, usage: true });
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(app, { admission: 'open' });
  // Two streams: cam with two players, lobby with one; everything ends.
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
  const plan = [
    ['cam', true],
    ['lobby', true],
    ['cam', false],
    ['cam', false],
    ['lobby', false],
  ] as const;
  const sessions = plan.map(() => wcs.newSession());
  const streams = plan.map(([name, published], i) =>
    wcs.newStream(sessions[i] ?? wcs.newSession(), name, published),
  );
  for (const [i, stream] of streams.entries()) {
    await wcs.send('connect', wcs.connectBody(sessions[i] ?? stream));
    await wcs.send(stream.published ? 'publishStream' : 'playStream', wcs.streamBody(stream, 'PENDING'));
    await wcs.goLive(stream);
  }
  // Every stream stays live at least 1.2 s: viewer-minutes are kept to 0.01 minute (0.6 s), so plays
  // ended at once on a fast machine would read 0.
  await new Promise((r) => setTimeout(r, 1200));
  for (const stream of [...streams].reverse()) await wcs.end(stream);
  for (const session of sessions) await wcs.disconnect(session);
  const until = Date.now() + 40_000;
  for (;;) {
    const top = (await restRealm('usage/app', { app, by: 'stream' })).payload as Record<string, number>[];
    const [day] = (await restRealm('usage/app', { app })).payload as Record<string, number>[];
    if (day?.sessions === 5 && (day.viewerMinutes ?? 0) > 0 && top?.length === 2 && top[0]?.plays === 2)
      break;
    if (Date.now() > until) throw new Error(`usage not kept in time: ${JSON.stringify({ day, top })}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  ({ browser, page } = await openConsole(server.baseUrl, TOKEN));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("the live console's usage", () => {
  it('says what to do before an app is chosen', async () => {
    expect(await page.locator('#top tr.empty td').textContent()).toBe(
      'Choose an app above: its top streams are listed here.',
    );
  });

  it("charts an app's sessions, publish- and viewer-minutes per UTC day, and lists its top streams", async () => {
    // Act
    await page.getByLabel('app', { exact: true }).fill(app);
    await page.getByRole('button', { name: 'Show usage' }).click();

    // Assert
    await page.locator('#top tr[data-key="cam"]').waitFor({ timeout: 20_000 });
    const today = new Date().toISOString().slice(0, 10);
    expect(await page.locator('#usage-name').textContent()).toBe(app);
    expect(await page.locator('#usage-note').textContent()).toMatch(
      new RegExp(
        `^14 days from \\d{4}-\\d\\d-\\d\\d to ${today}: 5 sessions, [\\d.]+ publish-minutes, [\\d.]+ viewer-minutes\\.$`,
      ),
    );
    expect(
      await page.locator('#top tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key'))),
    ).toEqual(['cam', 'lobby']);
    const cam = await page.locator('#top tr[data-key="cam"] td').allTextContents();
    expect([cam[0], cam[1], cam[3]]).toEqual(['cam', '1', '2']);
    const chart = page.locator('#usage-chart');
    expect(await chart.locator('canvas').count()).toBe(1);
    const legend = (await chart.locator('.u-legend').textContent()) ?? '';
    for (const series of ['day (UTC)', 'sessions', 'publish-minutes', 'viewer-minutes'])
      expect(legend).toContain(series);
    expect(await chart.getAttribute('aria-label')).toMatch(/^Usage per day\. 14 days from /);

    // Within the window at a desktop's and at a phone's width; no serious accessibility violation.
    await page.locator('#usage').scrollIntoViewIfNeeded();
    const { desktop, phone, violations } = await desktopAndPhone(page, 'console-usage');
    expect([desktop.scrollWidth, desktop.shot.width]).toEqual([1280, 1280]);
    expect([phone.scrollWidth, phone.shot.width]).toEqual([390, 390]);
    expect(Math.min(desktop.shot.colours, phone.shot.colours)).toBeGreaterThan(20);
    expect(violations).toEqual([]);
  }, 60_000);

  it('says why when the realm refuses the question: a range backwards', async () => {
    await page.getByLabel('from (UTC day)').fill('2026-11-30');
    await page.getByLabel('to (UTC day)').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show usage' }).click();
    await page.locator('#usage-note.bad').waitFor({ timeout: 20_000 });
    expect(await page.locator('#usage-note').textContent()).toBe(
      'the range is backwards: from 2026-11-30 is after to 2026-11-01',
    );
    expect(await page.locator('#usage-chart').isHidden()).toBe(true);
  });
});
