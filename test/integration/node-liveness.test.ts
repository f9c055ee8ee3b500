/**
 * Alive means alive (issue "The node edge tells the truth", items 2, 6, 7): a node is lost only when
 * it has neither answered the poller nor sent a hook for `NODE_LOST_AFTER_S`; one whose REST API
 * does not answer while its hooks arrive (the default case in AWS: functions outside the nodes'
 * network) is unreachable and keeps everything; when most nodes go silent at once the brake ends
 * nothing; a live stream whose keep-alives stopped while its node's other hooks arrive is ended.
 * Nodes are registered at loopback URLs where nothing listens (a refused connection), or served by
 * fake nodes; each step is one `pollNow` run (no timer).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

const LOST_AFTER_MS = 2_000;
let server: RunningHookServer;
const rests: FakeWcsRest[] = [];
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let putNodeUrl: typeof import('../../shared/sender/wcs-nodes.ts').putNodeUrl;
let getNode: typeof import('../../shared/state/monitoring.ts').getNode;
let putAppPolicy: typeof import('../../shared/state/apps.ts').putAppPolicy;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('liveness');
  server = await startHookServer({
    NODE_POLL_INTERVAL_S: '3600',
    RECONCILE_GRACE_S: '0',
    NODE_LOST_AFTER_S: String(LOST_AFTER_MS / 1000),
    WCS_REST_TIMEOUT_MS: '500',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    KEEP_ALIVE_WRITE_INTERVAL_S: '0',
    STREAM_KEEP_ALIVE_TIMEOUT_S: '2',
    NODE_LOSS_BRAKE_PERCENT: '50',
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts'));
  ({ getNode } = await import('../../shared/state/monitoring.ts'));
  ({ putAppPolicy } = await import('../../shared/state/apps.ts'));
  ({ getItem } = await import('../support/tables.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  for (const rest of rests) await rest.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node registered at a loopback URL where nothing listens: it never answers. */
async function unreachableNode(ip: string, appKey = `lv-${randomUUID().slice(0, 6)}`) {
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey, ip });
  await putNodeUrl(wcs.nodeId, `http://${ip}:${await freePort()}/rest-api`);
  return wcs;
}

async function session(wcs: FakeWcs): Promise<WcsSession> {
  const s = wcs.newSession();
  expect((await wcs.send('connect', wcs.connectBody(s))).status).toBe(200);
  await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(s, 'ESTABLISHED'));
  return s;
}

async function publisher(wcs: FakeWcs, s: WcsSession, name: string): Promise<WcsStream> {
  const stream = wcs.newStream(s, name, true);
  expect((await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'))).status).toBe(200);
  await wcs.goLive(stream);
  return stream;
}

const keepAlive = (wcs: FakeWcs, stream: WcsStream) =>
  wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'));

const streamItem = (stream: WcsStream) =>
  getItem('streams', { sessionId: stream.sessionId, mediaSessionId: stream.mediaSessionId });

describe('a node', () => {
  it('whose hooks arrive is unreachable, never lost, however long its REST API is silent; lost once its hooks stop too', async () => {
    const appKey = `alive-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(appKey, { admission: 'open', singlePublisher: true });
    const wcs = await unreachableNode('127.0.95.1', appKey);
    const owner = await session(wcs);
    const stream = await publisher(wcs, owner, 'camera-1');
    // Three times NODE_LOST_AFTER_S of keep-alives, the poller never reaching the node.
    for (const started = Date.now(); Date.now() - started < 3 * LOST_AFTER_MS; ) {
      expect((await keepAlive(wcs, stream)).status).toBe(200);
      await pollNow();
      await sleep(300);
    }
    expect(await getNode(wcs.nodeId)).toMatchObject({
      state: 'unreachable',
      stateReason: expect.stringMatching(/its hooks arrive but its REST API does not answer/),
    });
    expect(await streamItem(stream)).toMatchObject({ status: 'PUBLISHING' });
    // Its name is still held: a second publisher is refused.
    const other = wcs.newStream(await session(wcs), 'camera-1', true);
    expect((await wcs.send('publishStream', wcs.streamBody(other, 'PENDING'))).status).toBe(403);

    // Its hooks stop too: lost, everything ended, stamped with its last sign of life.
    const lastHook = Date.now();
    await sleep(LOST_AFTER_MS + 300);
    await pollNow();
    const node = await getNode(wcs.nodeId);
    expect(node).toMatchObject({ state: 'lost', lostAt: expect.any(Number) });
    const ended = await streamItem(stream);
    expect(ended).toMatchObject({
      status: 'UNPUBLISHED',
      info: expect.stringMatching(/^Node lost \(wcs-hooks\)/),
    });
    expect(Date.parse(String(ended?.endedAt))).toBeLessThanOrEqual(lastHook + 1000);
    expect(Date.parse(String(ended?.endDetectedAt))).toBeGreaterThanOrEqual(lastHook + LOST_AFTER_MS);
    expect(await getItem('sessions', { sessionId: owner.sessionId })).toMatchObject({
      status: 'DISCONNECTED',
    });
    // The name is free again: a publisher on another node of the app takes it (a hook from the lost
    // node itself would be a sign of its life).
    const elsewhere = new FakeWcs({ appUrl: server.appUrl, appKey, ip: '127.0.95.2' });
    const rest = await new FakeWcsRest({ node: elsewhere, host: '127.0.95.2' }).start();
    rests.push(rest);
    await putNodeUrl(elsewhere.nodeId, rest.url);
    const owner2 = elsewhere.newSession();
    expect((await elsewhere.send('connect', elsewhere.connectBody(owner2))).status).toBe(200);
    const again = elsewhere.newStream(owner2, 'camera-1', true);
    expect((await elsewhere.send('publishStream', elsewhere.streamBody(again, 'PENDING'))).status).toBe(200);
  }, 60_000);

  it('is not lost when most nodes go silent at once (the brake); lost once the others answer again', async () => {
    const silent = [await unreachableNode('127.0.96.1'), await unreachableNode('127.0.96.2')];
    const answering = new FakeWcs({ appUrl: server.appUrl, appKey: 'brake-ok', ip: '127.0.96.3' });
    const rest = await new FakeWcsRest({ node: answering, host: '127.0.96.3' }).start();
    rests.push(rest);
    await putNodeUrl(answering.nodeId, rest.url);
    const sessions = [await session(silent[0] as FakeWcs), await session(silent[1] as FakeWcs)];
    await session(answering);
    await pollNow();
    await sleep(LOST_AFTER_MS + 300);
    await pollNow();
    for (const wcs of silent)
      expect(await getNode(wcs.nodeId)).toMatchObject({
        state: 'silent',
        stateReason: expect.stringMatching(/2 of \d nodes went silent at once: loss held by the brake/),
      });
    for (const s of sessions)
      expect(await getItem('sessions', { sessionId: s.sessionId })).toMatchObject({ status: 'ESTABLISHED' });

    // One of them answers again: the other alone is silent, and lost.
    const back = new FakeWcsRest({ node: silent[1] as FakeWcs, host: '127.0.96.2' });
    rests.push(await back.start());
    await putNodeUrl((silent[1] as FakeWcs).nodeId, back.url);
    await pollNow();
    expect(await getNode((silent[0] as FakeWcs).nodeId)).toMatchObject({ state: 'lost' });
    expect(await getItem('sessions', { sessionId: sessions[0]?.sessionId as string })).toMatchObject({
      status: 'DISCONNECTED',
    });
    expect(await getNode((silent[1] as FakeWcs).nodeId)).toMatchObject({ state: 'up' });
    expect(await getItem('sessions', { sessionId: sessions[1]?.sessionId as string })).toMatchObject({
      status: 'ESTABLISHED',
    });
  }, 60_000);

  it('that cannot be reconciled still has the streams whose keep-alives stopped ended, and only those', async () => {
    const wcs = await unreachableNode('127.0.97.1');
    const owner = await session(wcs);
    const stopped = await publisher(wcs, owner, `ka-stop-${randomUUID().slice(0, 6)}`);
    const going = await publisher(wcs, owner, `ka-go-${randomUUID().slice(0, 6)}`);
    await keepAlive(wcs, stopped);
    const lastKeepAlive = Date.now();
    // At least 3 s (past the 2 s timeout), then until the poller has ended it: a loaded machine may
    // take longer to get there; the other stream is kept alive all along.
    for (const started = Date.now(); Date.now() - started < 90_000; ) {
      await keepAlive(wcs, going);
      await pollNow();
      await sleep(300);
      if (Date.now() - started >= 3_000 && (await streamItem(stopped))?.status === 'UNPUBLISHED') break;
    }
    const ended = await streamItem(stopped);
    expect(ended).toMatchObject({
      status: 'UNPUBLISHED',
      info: expect.stringMatching(/^Keep-alives stopped \(wcs-hooks\): no StreamKeepAliveEvent since/),
    });
    expect(Date.parse(String(ended?.endedAt))).toBeLessThanOrEqual(lastKeepAlive + 500);
    expect(await streamItem(going)).toMatchObject({ status: 'PUBLISHING' });
    expect(await getNode(wcs.nodeId)).toMatchObject({ state: 'unreachable' });
  }, 150_000);
});
