/**
 * The live console, in headless Chromium (Debian's `chromium`, driven by playwright-core), on tables
 * of its own: before anything happens each part says it has nothing; opened after sessions, streams
 * and a failure, it shows them all (users, durations, viewers, totals per app, the failure in the
 * alarm history), every time in one format, UTC; then it follows what happens. Screenshots at a
 * desktop's and a phone's width are taken, their paths printed, and checked for what they show; axe-core
 * finds no serious or critical accessibility violation. Waits are bounded; no time is asserted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { screenshot, seriousAxeViolations } from '../support/screenshots.ts';
import { HS256_SECRET } from '../support/tokens.ts';

const TOKEN = 'dashboard-token';
const UTC_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
let server: RunningHookServer;
let browser: Browser;
let first: Page;
let wcs: FakeWcs;
let issueToken: (appKey: string, user: string) => Promise<string>;

beforeAll(async () => {
  await useOwnTables('console');
  server = await startHookServer({ API_TOKEN: TOKEN, REFUSAL_ALARM_PER_MINUTE: '2' }, { realtime: true });
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  const { issueClientToken } = await import('../../shared/admission/tokens.ts');
  const appKey = `studio-${randomUUID().slice(0, 6)}`;
  await putAppPolicy(appKey, { admission: 'token', hs256Secret: HS256_SECRET });
  issueToken = (aud, sub) => issueClientToken(HS256_SECRET, { sub, aud, publish: ['*'], play: ['*'] }, 600);
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey });
  browser = await launchChromium();
  first = await open(DESKTOP);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The console in a new page of `size`, once it has connected and loaded the current state. */
async function open(size: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  await page.goto(`${server.baseUrl}/?token=${TOKEN}`);
  await page.locator('#status.connected').waitFor({ timeout: 20_000 });
  return page;
}

const cells = (page: Page, table: string, key: string) =>
  page.locator(`#${table} tr[data-key="${key}"] td`).allTextContents();

async function connect(user: string): Promise<WcsSession> {
  const session = wcs.newSession();
  const reply = await wcs.send(
    'connect',
    wcs.connectBody(session, { custom: { token: await issueToken(wcs.appKey, user) } }),
  );
  expect(reply.status).toBe(200);
  return session;
}

describe('the live console', () => {
  it('says, in each part, that there is nothing yet', async () => {
    const empty = async (table: string) => (await first.locator(`#${table} tr.empty td`).textContent()) ?? '';

    expect(await empty('totals')).toBe('No app has an open session or a live stream.');
    expect(await empty('streams')).toMatch(/^No live stream\./);
    expect(await empty('sessions')).toMatch(/^No open session\./);
    expect(await empty('active')).toBe('No active alarm: no threshold raised, every node up.');
    expect(await empty('history')).toBe('No alarm in the last 24 hours.');
    expect(await empty('nodes')).toBe('No node has sent a hook yet.');
    expect(await first.locator('#chart-note').textContent()).toMatch(/^Select a live stream/);
    expect(await first.locator('#clock').textContent()).toMatch(UTC_TIME);

    const shot = await screenshot(first, 'console-empty-desktop');
    expect(shot.width).toBe(DESKTOP.width);
    expect(shot.colours).toBeGreaterThan(3);
  }, 60_000);

  it('on open, shows what was there before it: sessions with their users, streams with publisher, duration and viewers, totals, a failure', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const name = `stage-${randomUUID().slice(0, 6)}`;
    const published = wcs.newStream(alice, name, true);
    await wcs.goLive(published);
    await wcs.goLive(wcs.newStream(bob, name, false));
    const doomed = wcs.newStream(bob, `doomed-${randomUUID().slice(0, 6)}`, true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(doomed, 'FAILED', { info: 'Failed by RTP activity' }));

    const page = await open(DESKTOP);

    const stream = await cells(page, 'streams', published.mediaSessionId);
    expect(stream).toEqual([
      name,
      wcs.appKey,
      'alice',
      expect.stringMatching(UTC_TIME),
      expect.stringMatching(/^\d+m \d\ds$/),
      '1',
      '—',
      wcs.nodeId,
    ]);
    expect(await cells(page, 'sessions', alice.sessionId)).toEqual([
      alice.sessionId,
      wcs.appKey,
      'alice',
      expect.stringMatching(/^(PENDING|ESTABLISHED)$/),
      expect.stringMatching(UTC_TIME),
      expect.stringMatching(/^\d+m \d\ds$/),
      wcs.nodeId,
    ]);
    expect((await cells(page, 'sessions', bob.sessionId))[2]).toBe('bob');
    expect(await cells(page, 'totals', wcs.appKey)).toEqual([wcs.appKey, '2', '1', '1', '—']);
    const failure = page.locator('#history tbody tr', { hasText: doomed.name });
    expect(await failure.locator('td').allTextContents()).toEqual([
      expect.stringMatching(UTC_TIME),
      'PUBLISHER_LOST',
      `${doomed.name} of app ${wcs.appKey} on ${wcs.nodeId}: Failed by RTP activity`,
    ]);
    expect((await cells(page, 'nodes', wcs.nodeId))[0]).toBe(wcs.nodeId);
    // One time format: every time on the page is UTC, so marked (the usage part's days are days).
    const dates = await page
      .locator('section:not(#usage):not([data-part="top"]) td')
      .evaluateAll((tds) => tds.map((td) => td.textContent ?? '').filter((t) => /\d{4}-\d\d-\d\d/.test(t)));
    expect(dates.length).toBeGreaterThanOrEqual(5);
    for (const date of dates) expect(date).toMatch(UTC_TIME);

    const desktop = await screenshot(page, 'console-state-desktop');
    expect(desktop.width).toBe(DESKTOP.width);
    expect(desktop.colours).toBeGreaterThan(10);
    expect(await seriousAxeViolations(page)).toEqual([]);

    // From a phone's width up: nothing wider than the screen but the tables, which scroll inside their box.
    await page.setViewportSize(PHONE);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    const phone = await screenshot(page, 'console-state-phone');
    expect(phone.width).toBe(PHONE.width);
    expect(phone.colours).toBeGreaterThan(10);
    expect(await page.locator('#streams').isVisible()).toBe(true);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('then follows what happens: a stream and its viewers, a session ending, a failure, refusals above the threshold', async () => {
    const carol = await connect('carol');
    await first.locator(`#sessions tr[data-key="${carol.sessionId}"]`).waitFor({ timeout: 15_000 });
    const name = `live-${randomUUID().slice(0, 6)}`;
    const publisher = wcs.newStream(carol, name, true);
    const row = first.locator(`#streams tr[data-key="${publisher.mediaSessionId}"]`);

    await wcs.goLive(publisher);
    await row.waitFor({ timeout: 15_000 });
    await wcs.goLive(wcs.newStream(wcs.newSession(), name, false));
    await first
      .locator(`#streams tr[data-key="${publisher.mediaSessionId}"] td:nth-child(6)`, { hasText: '1' })
      .waitFor({ timeout: 15_000 });
    expect((await cells(first, 'streams', publisher.mediaSessionId))[2]).toBe('carol');

    await wcs.end(publisher);
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    await wcs.disconnect(carol);
    await first
      .locator(`#sessions tr[data-key="${carol.sessionId}"]`)
      .waitFor({ state: 'detached', timeout: 15_000 });

    const failing = wcs.newStream(wcs.newSession(), `lost-${randomUUID().slice(0, 6)}`, true);
    await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(failing, 'FAILED', { info: 'Failed by RTP activity' }),
    );
    await first.locator('#history tr', { hasText: failing.name }).waitFor({ timeout: 15_000 });
    expect(await first.locator('#history tr', { hasText: failing.name }).textContent()).toContain(
      'PUBLISHER_LOST',
    );

    // Twice the threshold (2) of refusals: one minute crosses it, wherever a minute boundary falls.
    const { putAppPolicy } = await import('../../shared/state/apps.ts');
    const appKey = `closed-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(appKey, { admission: 'closed' });
    const closed = new FakeWcs({ appUrl: server.appUrl, appKey });
    for (let i = 0; i < 4; i++) await closed.send('connect', closed.connectBody(closed.newSession()));
    const alarm = first.locator('#history tr', { hasText: `app ${appKey} refused` });
    await alarm.first().waitFor({ timeout: 15_000 });
    expect(await alarm.first().locator('td').allTextContents()).toEqual([
      expect.stringMatching(UTC_TIME),
      'REFUSALS_ABOVE_THRESHOLD',
      expect.stringMatching(
        new RegExp(
          `^app ${appKey} refused 2 in minute .* \\(last: connect app ${appKey} admits no client\\)$`,
        ),
      ),
    ]);
  }, 60_000);
});
