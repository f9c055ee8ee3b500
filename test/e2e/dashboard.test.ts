/**
 * The live page, in headless Chromium (Debian's `chromium`, driven by playwright-core): it connects
 * over STOMP and shows a stream once its StreamStatusEvent PUBLISHING hook is sent, counts its
 * viewers, and drops it after UNPUBLISHED; alarms for a failed stream and for refusals above the
 * threshold. Waits are bounded; no time is asserted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { launchChromium } from '../support/chromium.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

const TOKEN = 'dashboard-token';
let server: RunningHookServer;
let browser: Browser;
let page: Page;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer({ API_TOKEN: TOKEN, REFUSAL_ALARM_PER_MINUTE: '2' }, { realtime: true });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `page-${randomUUID().slice(0, 6)}` });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.baseUrl}/dashboard?token=${TOKEN}`);
  await page.locator('#status.connected').waitFor({ timeout: 15_000 });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the live page', () => {
  it('shows a stream appear when it is PUBLISHING, with its viewers, and disappear after UNPUBLISHED', async () => {
    const name = `live-${randomUUID().slice(0, 6)}`;
    const publisher = wcs.newStream(wcs.newSession(), name, true);
    const viewer = wcs.newStream(wcs.newSession(), name, false);
    const row = page.locator(`#streams tr[data-key="${publisher.mediaSessionId}"]`);

    await wcs.send('StreamStatusEvent', wcs.streamBody(publisher, 'PUBLISHING'));
    await row.waitFor({ timeout: 15_000 });
    await wcs.send('StreamStatusEvent', wcs.streamBody(viewer, 'PLAYING'));
    await page
      .locator(`#streams tr[data-key="${publisher.mediaSessionId}"] td:nth-child(4)`, { hasText: '1' })
      .waitFor({ timeout: 15_000 });

    expect(await row.locator('td').allTextContents()).toEqual([
      name,
      wcs.appKey,
      'PUBLISHING',
      '1',
      wcs.nodeId,
    ]);

    await wcs.send('StreamStatusEvent', wcs.streamBody(publisher, 'UNPUBLISHED'));
    await row.waitFor({ state: 'detached', timeout: 15_000 });
  }, 60_000);

  it('lists a session as it connects, and raises an alarm when a stream fails', async () => {
    const session = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(session));
    await page.locator(`#sessions tr[data-key="${session.sessionId}"]`).waitFor({ timeout: 15_000 });

    const failing = wcs.newStream(session, `doomed-${randomUUID().slice(0, 6)}`, true);
    await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(failing, 'FAILED', { info: 'Failed by RTP activity' }),
    );

    await page.locator('#alarms li', { hasText: failing.name }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#alarms li', { hasText: failing.name }).textContent()).toContain(
      'PUBLISHER_LOST',
    );
  }, 60_000);

  it('raises an alarm when an app refuses more than the threshold in a minute', async () => {
    const appKey = `closed-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(appKey, { admission: 'closed' });
    const closedApp = new FakeWcs({ appUrl: server.appUrl, appKey });

    // Twice the threshold (2): one minute crosses it, wherever a minute boundary falls.
    for (let i = 0; i < 4; i++)
      await closedApp.send('connect', closedApp.connectBody(closedApp.newSession()));

    const alarm = page.locator('#alarms li', { hasText: `app ${appKey} refused` });
    await alarm.first().waitFor({ timeout: 15_000 });
    expect(await alarm.first().textContent()).toMatch(
      new RegExp(
        `REFUSALS_ABOVE_THRESHOLD: app ${appKey} refused 2 in minute .* \\(last: connect app ${appKey} admits no client\\)`,
      ),
    );
  }, 60_000);
});
