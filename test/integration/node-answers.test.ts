/**
 * Only a verified answer changes state (issue "The node edge tells the truth", item 3): fake WCS
 * nodes that lie, stall or answer garbage, each registered with its loopback REST URL, polled and
 * reconciled with `pollNow` (no timer: each step is one run). A session and a live stream are made
 * through hooks first; what a bad answer would claim (the node has nothing) is then made true on the
 * node without a hook, and nothing may be ended for it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest, type RawAnswer } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

const MAX_ANSWER_BYTES = 256 * 1024;
const MAX_CHANGES = 5;
let server: RunningHookServer;
const rests: FakeWcsRest[] = [];
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let putNodeUrl: typeof import('../../shared/sender/wcs-nodes.ts').putNodeUrl;
let getNode: typeof import('../../shared/state/monitoring.ts').getNode;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('answers');
  server = await startHookServer({
    NODE_POLL_INTERVAL_S: '3600',
    RECONCILE_GRACE_S: '0',
    NODE_LOST_AFTER_S: '3600',
    WCS_REST_TIMEOUT_MS: '1000',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    WCS_REST_MAX_ANSWER_BYTES: String(MAX_ANSWER_BYTES),
    RECONCILE_MAX_CHANGES: String(MAX_CHANGES),
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts'));
  ({ getNode } = await import('../../shared/state/monitoring.ts'));
  ({ getItem } = await import('../support/tables.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  for (const rest of rests) await rest.close();
});

/** A fake node with a REST API, registered at `path` of it (default its `/rest-api`). */
async function node(ip: string, path?: (url: string) => string) {
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `na-${randomUUID().slice(0, 6)}`, ip });
  const rest = await new FakeWcsRest({ node: wcs, host: ip }).start();
  rests.push(rest);
  await putNodeUrl(wcs.nodeId, path ? path(rest.url) : rest.url);
  return { wcs, rest };
}

/** A session with a live publisher, made through hooks, held by the node. */
async function liveOn(wcs: FakeWcs): Promise<{ session: WcsSession; stream: WcsStream }> {
  const session = wcs.newSession();
  expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
  await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED'));
  const stream = wcs.newStream(session, `kept-${randomUUID().slice(0, 6)}`, true);
  await wcs.goLive(stream);
  return { session, stream };
}

/** The session's and the stream's statuses as the tables hold them. */
async function statuses({ session, stream }: { session: WcsSession; stream: WcsStream }) {
  const s = await getItem('sessions', { sessionId: session.sessionId });
  const m = await getItem('streams', { sessionId: session.sessionId, mediaSessionId: stream.mediaSessionId });
  return { session: s?.status, stream: m?.status };
}

const json = (value: unknown): RawAnswer => ({ status: 200, body: JSON.stringify(value) });
let garbageNodes = 0;

describe('an answer that is not verified changes nothing', () => {
  it.each([
    ['a list whose entries are not streams', json([1, 'x', { foo: 'bar' }]), /entry 0 that is not a stream/],
    [
      'a list nested 100,000 deep',
      { status: 200, body: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
      /entry 0 that is not a stream/,
    ],
    [
      "a proxy's plain-text 404",
      { status: 404, body: '404 page not found', contentType: 'text/plain' },
      /answered 404: 404 page not found, not a WCS finder's "not found"/,
    ],
  ])('%s ends nothing and says why', async (_what, answer, reason) => {
    const { wcs, rest } = await node(`127.0.90.${++garbageNodes}`);
    const held = await liveOn(wcs);
    rest.override = (path) => (path.startsWith('/rest-api/stream/') ? answer : undefined);
    wcs.dropSilently(held.session); // what the answer would claim, if it were believed
    await pollNow();
    expect(await statuses(held)).toEqual({ session: 'ESTABLISHED', stream: 'PUBLISHING' });
    expect(await getNode(wcs.nodeId)).toMatchObject({
      state: 'unusable',
      stateReason: expect.stringMatching(reason),
    });
  });

  it('ends nothing on a connection list with an entry without sessionId, and shows the node unusable', async () => {
    const { wcs, rest } = await node('127.0.91.1');
    const held = await liveOn(wcs);
    rest.override = (path) =>
      path === '/rest-api/connection/find_all' ? json([{ appKey: wcs.appKey }]) : undefined;
    wcs.dropSilently(held.session);
    await pollNow();
    expect(await statuses(held)).toEqual({ session: 'ESTABLISHED', stream: 'PUBLISHING' });
    const status = await getNode(wcs.nodeId);
    expect(status).toMatchObject({
      state: 'unusable',
      stateReason: expect.stringMatching(
        /connection\/find_all listed entry 0 that is not a connection \(sessionId/,
      ),
    });
    expect(status?.lastReconciledAt).toBeUndefined();
  });

  it('reads no answer past WCS_REST_MAX_ANSWER_BYTES, and ends nothing', async () => {
    const { wcs, rest } = await node('127.0.91.2');
    const held = await liveOn(wcs);
    const streams = Array.from({ length: 5_000 }, () => ({
      mediaSessionId: randomUUID(),
      status: 'PUBLISHING',
    }));
    rest.override = (path) => (path.startsWith('/rest-api/stream/') ? json(streams) : undefined);
    wcs.dropSilently(held.session);
    await pollNow();
    expect(await statuses(held)).toEqual({ session: 'ESTABLISHED', stream: 'PUBLISHING' });
    expect((await getNode(wcs.nodeId))?.stateReason).toMatch(
      new RegExp(`more than ${MAX_ANSWER_BYTES} bytes \\(WCS_REST_MAX_ANSWER_BYTES\\)`),
    );
  });

  it('takes a 404 for "none" only from a REST API confirmed to be WCS', async () => {
    // Registered at a URL without `/rest-api`: every path answers WCS's HTML 404 page.
    const misplaced = await node('127.0.91.3', (url) => url.replace(/\/rest-api$/, ''));
    const held = await liveOn(misplaced.wcs);
    misplaced.wcs.dropSilently(held.session);
    await pollNow();
    expect(await statuses(held)).toEqual({ session: 'ESTABLISHED', stream: 'PUBLISHING' });
    expect((await getNode(misplaced.wcs.nodeId))?.state).toBe('unusable');

    // A WCS that never answered a list: its finders' 404s are WCS's own, but unconfirmed.
    const fresh = await node('127.0.91.4');
    const unconfirmed = await liveOn(fresh.wcs);
    fresh.wcs.dropSilently(unconfirmed.session);
    await pollNow();
    expect(await statuses(unconfirmed)).toEqual({ session: 'ESTABLISHED', stream: 'PUBLISHING' });
    expect((await getNode(fresh.wcs.nodeId))?.stateReason).toMatch(/has not answered as a WCS REST API/);

    // Once it has answered a list, its "none" is believed: what it no longer has is ended.
    const second = fresh.wcs.newSession();
    await pollNow();
    fresh.wcs.dropSilently(second);
    await pollNow();
    expect(await statuses(unconfirmed)).toEqual({ session: 'DISCONNECTED', stream: 'UNPUBLISHED' });
    expect(await getNode(fresh.wcs.nodeId)).toMatchObject({ state: 'up', restConfirmedUrl: fresh.rest.url });
  });
});

describe('a reconciliation is bounded', () => {
  it('records at most RECONCILE_MAX_CHANGES a run, and the rest in the next runs', async () => {
    const { wcs } = await node('127.0.92.1');
    await liveOn(wcs); // the node is known from its hooks
    for (let i = 0; i < 12; i++) wcs.newSession(); // connections whose hooks never came
    await pollNow();
    expect((await getNode(wcs.nodeId))?.lastReconcile).toMatchObject({ sessionsFound: MAX_CHANGES });
    await pollNow();
    await pollNow();
    const status = await getNode(wcs.nodeId);
    expect(status?.lastReconcile).toMatchObject({ sessionsFound: 2 });
    expect(status?.sessionsFoundTotal).toBe(12);
  });

  it('a run stops promptly when the poller is stopped, whatever a node does', async () => {
    const { wcs, rest } = await node('127.0.92.2');
    await liveOn(wcs);
    rest.override = () => 'hang';
    const { runPoller, stopPollerRuns } = await import('../../shared/monitoring/poller.ts');
    const run = runPoller(60_000, { force: true });
    while (rest.requests === 0) await new Promise((r) => setTimeout(r, 20));
    stopPollerRuns();
    // The node never answers and the request would wait WCS_REST_TIMEOUT_MS: the run ends first.
    await expect(run).resolves.toMatchObject({ reconciled: expect.any(Number) });
    expect(await getNode(wcs.nodeId)).not.toMatchObject({ state: 'unreachable' });
    rest.override = undefined;
  });
});

describe('nodes that never answer', () => {
  it('do not hold up one that answers: they share a quarter of the slots', async () => {
    const { wcs: real } = await node('127.0.94.1');
    await liveOn(real);
    await pollNow(); // it has answered: the poller knows it alive
    const dead: FakeWcsRest[] = [];
    for (let i = 0; i < 20; i++) {
      const { wcs, rest } = await node(`127.0.94.${i + 10}`);
      rest.override = () => 'hang';
      await wcs.send('connect', wcs.connectBody(wcs.newSession())); // known from a hook after the real one
      dead.push(rest);
    }
    const { runPoller } = await import('../../shared/monitoring/poller.ts');
    const before = Date.now();
    // A window far shorter than the dead nodes take (20 x WCS_REST_TIMEOUT_MS over their slots).
    await runPoller(1_500, { force: true });
    expect((await getNode(real.nodeId))?.lastReconciledAt).toBeGreaterThanOrEqual(before);
    expect(dead.filter((rest) => rest.requests > 0).length).toBeLessThan(dead.length);
    for (const rest of dead) rest.override = undefined;
  });
});

describe('stream/find with display', () => {
  it('one failing answer does not switch a node to per-stream polling', async () => {
    const { wcs, rest } = await node('127.0.93.1');
    const { listOam, createOam } = await import('../../shared/state/oam-config.ts');
    if ((await listOam('profile')).length === 0)
      await createOam('profile', { name: 'rate', rate: 1, metrics: [3], rules: [] });
    await liveOn(wcs);
    let failures = 2; // stream/find, then its find_all fallback: a node failing, not an old WCS
    rest.override = (path) =>
      failures-- > 0 && path.startsWith('/rest-api/stream/')
        ? { status: 500, body: 'Internal error' }
        : undefined;
    await pollNow();
    await pollNow();
    expect(rest.streamRequests.get('/rest-api/stream/find')).toBe(2);
    expect(rest.streamRequests.get('/rest-api/stream/metrics')).toBeUndefined();
  });
});
