/**
 * Reconciliation with the WCS nodes, against fake nodes that answer `connection/find_all` and
 * `stream/find_all` from what they really hold: end hooks lost at random, start hooks lost, a node
 * restarted with new sessions, a node that answers garbage, one that refuses the credentials, one
 * that dies. The node poller runs every second (its own timer, as `npm start` runs it).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@stomp/stompjs';
import fc from 'fast-check';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { connectStomp, subscribe } from '../support/stomp.ts';

const TOKEN = 'reconcile-token';
const GRACE_S = 2;
let server: RunningHookServer;
const rests: FakeWcsRest[] = [];
let client: Client;
let putNodeUrl: typeof import('../../shared/sender/wcs-nodes.ts').putNodeUrl;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('reconcile');
  server = await startHookServer(
    {
      API_TOKEN: TOKEN,
      NODE_POLL_INTERVAL_S: '1',
      RECONCILE_GRACE_S: String(GRACE_S),
      NODE_LOST_AFTER_S: '3',
      WCS_REST_TIMEOUT_MS: '1000',
    },
    { realtime: true, poller: true },
  );
  ({ putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts'));
  ({ getItem } = await import('../support/tables.ts'));
  client = await connectStomp(`${server.baseUrl.replace('http', 'ws')}/ws?token=${TOKEN}`);
}, 60_000);
afterAll(async () => {
  await client.deactivate({ force: true });
  await server.close();
  for (const rest of rests) await rest.close();
});

/** A fake node with a REST API the backend is told of; its IP unique to the test. */
async function node(ip: string, credentials?: { username: string; password: string }) {
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `rc-${randomUUID().slice(0, 6)}`, ip });
  const rest = await new FakeWcsRest({ node: wcs, ...(credentials && { credentials }) }).start();
  rests.push(rest);
  await putNodeUrl(wcs.nodeId, rest.url);
  return { wcs, rest };
}

async function realm(name: string, payload: unknown) {
  const response = await fetch(`${server.baseUrl}/api/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return (await response.json()) as { status: number; payload: Record<string, unknown>[] };
}

const nodeStatus = async (nodeId: string) => (await realm('node_status/list', { id: nodeId })).payload?.[0];

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits for a reconciliation of `nodeId` that began after `since` (epoch ms) and past the grace of it. */
const reconciledAfter = (nodeId: string, since: number) =>
  eventually(async () => {
    const status = await nodeStatus(nodeId);
    return Number(status?.lastReconciledAt) >= since + GRACE_S * 1000 ? status : undefined;
  }, 40_000);

/** What this backend holds live for an app: open session ids and live stream ids, sorted. */
async function believed(appKey: string) {
  const sessions = (await realm('session/list', { app: appKey })).payload.map((s) => String(s.sessionId));
  const streams = (await realm('stream/list', { app: appKey })).payload.map((s) => String(s.mediaId));
  return { sessions: sessions.sort(), streams: streams.sort() };
}
const truth = (wcs: FakeWcs) => ({
  sessions: [...wcs.heldSessions].sort(),
  streams: [...wcs.liveStreams.keys()].sort(),
});

async function session(wcs: FakeWcs): Promise<WcsSession> {
  const s = wcs.newSession();
  expect((await wcs.send('connect', wcs.connectBody(s))).status).toBe(200);
  await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(s, 'ESTABLISHED'));
  return s;
}

describe('reconciliation', () => {
  it('leaves, after one reconciliation, the live state a loss-free run leaves when 10 % of end hooks are lost', async () => {
    const { wcs } = await node('127.0.10.1');
    const random = fc.sample(fc.double({ min: 0, max: 1, noNaN: true }), { numRuns: 400, seed: 4242 });
    let draw = 0;
    const lost = () => (random[draw++ % random.length] as number) < 0.1;
    const ended: { stream?: WcsStream; session?: WcsSession }[] = [];
    for (let i = 0; i < 30; i++) {
      const s = await session(wcs);
      const publish = wcs.newStream(s, `r-${i}`, true);
      await wcs.goLive(publish);
      const viewer = await session(wcs);
      const play = wcs.newStream(viewer, `r-${i}`, false);
      await wcs.goLive(play);
      if (i % 3 === 0) continue; // a third stay live
      for (const [stream, owner] of [
        [play, viewer],
        [publish, s],
      ] as const) {
        if (lost()) wcs.holdSilently(stream, false);
        else await wcs.end(stream);
        if (lost()) wcs.dropSilently(owner);
        else await wcs.disconnect(owner);
        ended.push({ stream, session: owner });
      }
    }
    const lastHook = Date.now();
    await reconciledAfter(wcs.nodeId, lastHook);
    expect(await believed(wcs.appKey)).toEqual(truth(wcs));
    // Ended through the same path as WCS's own end hooks: their names are free again.
    const again = wcs.newStream(await session(wcs), 'r-1', true);
    expect((await wcs.send('publishStream', wcs.streamBody(again, 'PENDING'))).status).toBe(200);
  }, 120_000);

  it('marks what it ended as reconciled, with when the node last confirmed it, and records what it found', async () => {
    const { wcs } = await node('127.0.10.2');
    const gone = await session(wcs);
    const goneStream = wcs.newStream(gone, `gone-${randomUUID().slice(0, 6)}`, true);
    await wcs.goLive(goneStream);
    wcs.dropSilently(gone);
    // Started on the node, with every start hook lost.
    const unseen = wcs.newSession();
    const unseenStream = wcs.newStream(unseen, `unseen-${randomUUID().slice(0, 6)}`, true);
    wcs.holdSilently(unseenStream);
    const since = Date.now();
    await reconciledAfter(wcs.nodeId, since);

    const ended = await getItem('streams', {
      sessionId: gone.sessionId,
      mediaSessionId: goneStream.mediaSessionId,
    });
    expect(ended).toMatchObject({ status: 'UNPUBLISHED' });
    expect(String(ended?.info)).toMatch(
      new RegExp(
        `^Reconciled by wcs-hooks: node ${wcs.nodeId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} no longer has it \\(asked at .+; last confirmed .+\\)$`,
      ),
    );
    expect(await getItem('sessions', { sessionId: gone.sessionId })).toMatchObject({
      status: 'DISCONNECTED',
      info: expect.stringMatching(/^Reconciled by wcs-hooks:/),
    });
    expect(await getItem('sessions', { sessionId: unseen.sessionId })).toMatchObject({
      status: 'ESTABLISHED',
      connectSeen: false,
      firstSeenBy: 'reconciliation',
    });
    expect(
      await getItem('streams', { sessionId: unseen.sessionId, mediaSessionId: unseenStream.mediaSessionId }),
    ).toMatchObject({
      status: 'PUBLISHING',
      info: expect.stringMatching(/^Found by wcs-hooks reconciliation/),
    });
    // What the last reconciliation changed (the found ones may have been found by an earlier one).
    expect((await nodeStatus(wcs.nodeId))?.lastReconcile).toEqual({
      sessionsEnded: expect.any(Number),
      streamsEnded: expect.any(Number),
      sessionsFound: expect.any(Number),
      streamsFound: expect.any(Number),
    });
  }, 60_000);

  it('leaves alone what a hook moved within the grace period, and stamps the end with its last evidence', async () => {
    const { wcs } = await node('127.0.10.3');
    // The node has answered as a WCS REST API (a list): its later "not found" means none.
    await session(wcs);
    await reconciledAfter(wcs.nodeId, Date.now() - GRACE_S * 1000);
    const young = await session(wcs);
    const hookAt = Date.now();
    wcs.dropSilently(young);
    // Reconciliations run every second; none within the grace of the hook ends the session.
    await reconciledAfter(wcs.nodeId, hookAt);
    const item = await getItem('sessions', { sessionId: young.sessionId });
    expect(item).toMatchObject({
      status: 'DISCONNECTED',
      info: expect.stringMatching(/^Reconciled by wcs-hooks:/),
    });
    expect(Date.parse(String(item?.endDetectedAt))).toBeGreaterThanOrEqual(hookAt + GRACE_S * 1000);
    // When it ended, as well as can be known: after its last hook, before it was found gone.
    expect(Date.parse(String(item?.endedAt))).toBeLessThan(Date.parse(String(item?.endDetectedAt)));
    expect(Date.parse(String(item?.endedAt))).toBeGreaterThanOrEqual(hookAt - 1000);
  }, 60_000);

  it('ends nothing on a garbled or failing answer', async () => {
    const { wcs, rest } = await node('127.0.10.4');
    const s = await session(wcs);
    const stream = wcs.newStream(s, `kept-${randomUUID().slice(0, 6)}`, true);
    await wcs.goLive(stream);
    const before = Date.now();
    await reconciledAfter(wcs.nodeId, before - GRACE_S * 1000);
    for (const answers of ['garbage', 'error'] as const) {
      rest.streamAnswers = answers;
      wcs.dropSilently(s); // what a bad answer would claim, if it were believed
      const from = Number((await nodeStatus(wcs.nodeId))?.contactCounter ?? 0);
      await eventually(async () => ((await nodeStatus(wcs.nodeId))?.connected === false ? true : undefined));
      await new Promise((r) => setTimeout(r, (GRACE_S + 1) * 1000));
      expect(await believed(wcs.appKey)).toEqual({
        sessions: [s.sessionId],
        streams: [stream.mediaSessionId],
      });
      expect(Number((await nodeStatus(wcs.nodeId))?.contactCounter ?? 0)).toBeGreaterThanOrEqual(from);
      wcs.heldSessions.add(s.sessionId);
      wcs.holdSilently(stream);
    }
    rest.streamAnswers = 'normal';
  }, 60_000);

  it('alarms on refused credentials, and ends nothing of that node however long it lasts', async () => {
    const { wcs } = await node('127.0.10.5', { username: 'wcs', password: 'not-what-we-send' });
    const s = await session(wcs);
    const down = await eventually(async () => {
      const status = await nodeStatus(wcs.nodeId);
      return status?.downReason ? status : undefined;
    });
    expect(down.downReason).toMatch(/credentials were refused/);
    wcs.dropSilently(s);
    await new Promise((r) => setTimeout(r, 4_000)); // past NODE_LOST_AFTER_S
    expect((await nodeStatus(wcs.nodeId))?.lostAt).toBeNull();
    expect(await believed(wcs.appKey)).toEqual({ sessions: [s.sessionId], streams: [] });
  }, 60_000);

  it('pushes a node whose REST API stops answering while its hooks arrive: unreachable on /topic/nodes, NODE_UNREACHABLE on /alarm', async () => {
    const { wcs, rest } = await node('127.0.10.7');
    const [alarms, topic] = [await subscribe(client, '/alarm'), await subscribe(client, '/topic/nodes')];
    const s = await session(wcs);
    await reconciledAfter(wcs.nodeId, Date.now() - GRACE_S * 1000);
    await rest.close();
    const alarm = await eventually(async () => {
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(s, 'ESTABLISHED')); // hooks keep coming
      return alarms
        .map((m) => JSON.parse(m.body) as Record<string, unknown>)
        .find((b) => b.alarm === 'NODE_UNREACHABLE' && b.node === wcs.nodeId);
    });
    expect(alarm).toMatchObject({ type: 'alarm', reason: expect.stringMatching(/does not answer/) });
    expect(
      topic.map((m) => JSON.parse(m.body) as Record<string, unknown>).filter((b) => b.id === wcs.nodeId),
    ).toContainEqual(expect.objectContaining({ type: 'node', state: 'unreachable' }));
    expect(await believed(wcs.appKey)).toEqual({ sessions: [s.sessionId], streams: [] });
  }, 60_000);

  it('ends everything of a node that stops answering, after NODE_LOST_AFTER_S, with a NODE_LOST alarm; reconciles it when it is back', async () => {
    const { wcs, rest } = await node('127.0.10.6');
    const alarms = await subscribe(client, '/alarm');
    const s = await session(wcs);
    const stream = wcs.newStream(s, `dies-${randomUUID().slice(0, 6)}`, true);
    await wcs.goLive(stream);
    await reconciledAfter(wcs.nodeId, Date.now() - GRACE_S * 1000);
    await rest.close();

    const alarm = await eventually(async () =>
      alarms
        .map((m) => JSON.parse(m.body) as Record<string, unknown>)
        .find((b) => b.alarm === 'NODE_LOST' && b.node === wcs.nodeId),
    );
    expect(alarm).toMatchObject({ type: 'alarm', ended: { sessionsEnded: 1, streamsEnded: 1 } });
    expect(await believed(wcs.appKey)).toEqual({ sessions: [], streams: [] });
    expect(
      await getItem('streams', { sessionId: s.sessionId, mediaSessionId: stream.mediaSessionId }),
    ).toMatchObject({
      status: 'UNPUBLISHED',
      info: expect.stringMatching(/^Node lost \(wcs-hooks\)/),
    });
    expect((await nodeStatus(wcs.nodeId))?.lostAt).toEqual(expect.any(Number));

    // Back, restarted with new sessions (their hooks lost): reconciled like any other.
    wcs.heldSessions.clear();
    wcs.liveStreams.clear();
    const fresh = wcs.newSession();
    const back = await new FakeWcsRest({ node: wcs }).start();
    rests.push(back);
    await putNodeUrl(wcs.nodeId, back.url);
    await eventually(async () => {
      const held = await believed(wcs.appKey);
      return held.sessions.includes(fresh.sessionId) ? held : undefined;
    });
    expect((await nodeStatus(wcs.nodeId))?.lostAt).toBeNull();
  }, 90_000);
});
