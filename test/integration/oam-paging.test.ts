/**
 * Answers that grow with the cluster are paged and bounded where AWS bounds them (issue 24, item 9):
 * 10,000 live streams (written straight into the streams table, as the hooks would leave them, to
 * keep the test quick), and open sessions and nodes past a page, asked over REST and STOMP. A STOMP
 * reply is one WebSocket message (API Gateway: 128 KiB at most), never dropped for its size.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MAX_FRAME_BYTES } from '../../shared/realtime/stomp/codec.ts';
import { countNodeChanges } from '../../shared/state/counters.ts';
import { openKeyOf } from '../../shared/state/sessions.ts';
import { historyDayOf, liveKeyOf, liveShardOf } from '../../shared/state/streams.ts';
import { batchPutAll, tableNameOf } from '../../shared/store/dynamo.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { realmClients } from '../support/realm-client.ts';

const TOKEN = 'oam-paging-token';
const APP = 'paging';
const NAMES = 100;
const STREAMS = 10_000;
const NODES = ['a@127.0.0.2', 'b@127.0.0.3'];
let server: RunningHookServer;
const { restRealm, rawClient, closeAll } = realmClients(() => server, TOKEN);

/** The i-th stream: stream names `cam-000` to `cam-099`, each one publisher then its players. */
function liveStream(i: number, startedAt: number) {
  const name = `cam-${String(i % NAMES).padStart(3, '0')}`;
  const published = i < NAMES;
  const mediaSessionId = `m-${String(i).padStart(5, '0')}`;
  // Publishers started a minute ago, their players after them.
  const at = new Date(startedAt + (published ? 0 : 30_000 + i)).toISOString();
  const nodeId = NODES[i % 2] as string;
  return {
    sessionId: `s-${i}`,
    mediaSessionId,
    appKey: APP,
    name,
    published,
    nodeId,
    status: published ? 'PUBLISHING' : 'PLAYING',
    statusRank: 1,
    firstStatusAt: at,
    lastStatusAt: at,
    historyDay: historyDayOf(at, mediaSessionId),
    liveShard: liveShardOf(APP, name),
    liveKey: liveKeyOf(name, published, mediaSessionId),
    liveNodeId: nodeId,
  };
}

beforeAll(async () => {
  await useOwnTables('oam-paging');
  server = await startHookServer({ API_TOKEN: TOKEN }, { realtime: true });
  const startedAt = Date.now() - 60_000;
  await batchPutAll(
    tableNameOf('streams'),
    Array.from({ length: STREAMS }, (_, i) => liveStream(i, startedAt)),
  );
}, 400_000);
afterAll(async () => {
  closeAll();
  await server.close();
});

const ids = (payload: unknown) => (payload as { mediaId: string }[]).map((s) => s.mediaId);

describe('stream/list of 10,000 live streams', () => {
  it('answers a page of 100 by default, with the total and whether more follow, far within a STOMP message', async () => {
    const first = await restRealm('stream/list', {});
    expect(first).toMatchObject({ http: 200, status: 200, total: STREAMS, more: true });
    expect(ids(first.payload)).toHaveLength(100);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThan(MAX_FRAME_BYTES / 2);
    // In a stable order: by app, name, the publisher first, then mediaId.
    expect(ids(first.payload).slice(0, 2)).toEqual(['m-00000', 'm-00100']);
  });

  it('gives every stream exactly once, page after page, over REST', async () => {
    const seen: string[] = [];
    for (let offset = 0, more = true; more; offset += 1000) {
      const page = await restRealm('stream/list', { limit: '1000', offset: String(offset) });
      expect(page).toMatchObject({ status: 200, total: STREAMS });
      seen.push(...ids(page.payload));
      more = page.more === true;
    }
    expect(seen).toHaveLength(STREAMS);
    expect(new Set(seen).size).toBe(STREAMS);
    // Ten pages, each reading 10,000 index entries and 1,000 items from DynamoDB Local.
  }, 180_000);

  it('filters on the index entries: a name and a role, a node, a mediaId', async () => {
    const players = await restRealm('stream/list', { name: 'cam-007', status: 'PLAYING', limit: 1000 });
    expect(players).toMatchObject({ total: NAMES - 1, more: false });
    expect((players.payload as { publisher: boolean }[]).every((s) => s.publisher === false)).toBe(true);
    expect(await restRealm('stream/list', { nodeIp: '127.0.0.3' })).toMatchObject({ total: STREAMS / 2 });
    expect(await restRealm('stream/list', { node: NODES[0], publisher: true })).toMatchObject({
      total: NAMES / 2,
    });
    const one = await restRealm('stream/list', { mediaId: 'm-04242' });
    expect(one).toMatchObject({
      total: 1,
      more: false,
      payload: [expect.objectContaining({ name: 'cam-042' })],
    });
  });

  it('over STOMP, fits one message: a limit whose answer would not is cut at a whole item, with more, never dropped', async () => {
    const raw = await rawClient();
    const first = await raw.request('/api/stream/list', {});
    expect(first).toMatchObject({ status: 200, total: STREAMS, more: true });
    expect(ids(first.payload)).toHaveLength(100);

    const large = await raw.request('/api/stream/list', { limit: '1000' });
    expect(large).toMatchObject({ status: 200, total: STREAMS, more: true });
    const cut = ids(large.payload);
    expect(cut.length).toBeGreaterThan(100);
    expect(cut.length).toBeLessThan(1000);
    // Every frame the client got fits one WebSocket message, as API Gateway requires.
    for (const frame of raw.frames) expect(Buffer.byteLength(frame.body)).toBeLessThan(MAX_FRAME_BYTES);
    // The client goes on from where the cut page ended.
    const next = await raw.request('/api/stream/list', { limit: '100', offset: String(cut.length) });
    expect(ids(next.payload)[0]).not.toBe(cut.at(-1));
    expect(cut).not.toContain(ids(next.payload)[0]);
  });
});

describe('stream/history at that scale', () => {
  it("pages the last day with more, and bounds a publisher's subscribers, counting them all", async () => {
    const day = await restRealm('stream/history', {});
    expect(day).toMatchObject({ status: 200, more: true });
    expect(day.payload).toHaveLength(50);

    const publisher = await restRealm('stream/history', { name: 'cam-007', publisher: true });
    expect(publisher).toMatchObject({ status: 200, more: false });
    const [one] = publisher.payload as { subscribers: string[]; subscriberCount: number }[];
    expect(one?.subscribers).toHaveLength(20);
    expect(one?.subscriberCount).toBe(NAMES - 1);
  });
});

describe('the other lists that grow with the cluster', () => {
  it('session/list, node/list and node_status/list answer a page, with the total', async () => {
    const connectedAt = new Date(Date.now() - 60_000).toISOString();
    const sessions = Array.from({ length: 250 }, (_, i) => ({
      sessionId: `open-${String(i).padStart(3, '0')}`,
      appKey: APP,
      nodeId: NODES[0],
      status: 'ESTABLISHED',
      firstStatusAt: connectedAt,
      userId: `user-${i % 2}`,
      openAppKey: APP,
      openKey: openKeyOf(`user-${i % 2}`, `open-${String(i).padStart(3, '0')}`),
      openNodeId: NODES[0],
    }));
    await batchPutAll(tableNameOf('sessions'), sessions);
    const nodes = Array.from({ length: 119 }, (_, i) => {
      const nodeId = `n${i}@127.0.1.${i}`;
      return { group: 'node', id: nodeId, nodeId, host: `127.0.1.${i}` };
    });
    nodes.push({ group: 'node', id: NODES[0] as string, nodeId: NODES[0] as string, host: '127.0.0.2' });
    await batchPutAll(tableNameOf('monitoring'), nodes);

    const open = await restRealm('session/list', { app: APP });
    expect(open).toMatchObject({ status: 200, total: 250, more: true });
    expect(open.payload).toHaveLength(100);
    expect((await restRealm('session/list', { app: APP, offset: '200' })).payload).toHaveLength(50);
    // Without an app: every open session, found by the nodes they are open on, each with who and since when.
    const every = await restRealm('session/list', { limit: 10 });
    expect(every).toMatchObject({ status: 200, total: 250, more: true });
    expect((every.payload as unknown[])[0]).toEqual({
      sessionId: 'open-000',
      nodeId: NODES[0],
      appKey: APP,
      app: APP,
      node: NODES[0],
      user: 'user-0',
      status: 'ESTABLISHED',
      createDate: Date.parse(connectedAt),
      duration: expect.any(Number),
    });
    expect(await restRealm('session/list', { user: 'user-1', limit: 1000 })).toMatchObject({
      total: 125,
      payload: expect.arrayContaining([expect.objectContaining({ sessionId: 'open-001', user: 'user-1' })]),
    });

    for (const realm of ['node/list', 'node_status/list']) {
      const first = await restRealm(realm, {});
      expect([realm, first]).toEqual([
        realm,
        expect.objectContaining({ status: 200, total: 120, more: true }),
      ]);
      expect(first.payload).toHaveLength(100);
      expect(await restRealm(realm, { limit: 50, offset: 100 })).toMatchObject({ total: 120, more: false });
    }
  });

  it('node_status/list adds what reconciliations changed on each node over the last 24 hours and 7 days', async () => {
    const now = Date.now();
    const changes = (n: number) => ({
      sessionsEnded: n,
      streamsEnded: 2 * n,
      sessionsFound: 0,
      streamsFound: 1,
    });
    const [n0, n1] = ['n0@127.0.1.0', 'n1@127.0.1.1'];
    await countNodeChanges(n0, new Date(now), changes(1));
    await countNodeChanges(n0, new Date(now - 60_000), changes(2));
    await countNodeChanges(n0, new Date(now - 3 * 86_400_000), changes(10));
    await countNodeChanges(n0, new Date(now - 9 * 86_400_000), changes(100));
    await countNodeChanges(n1, new Date(now - 2 * 3_600_000), changes(5));
    const shown = (await restRealm('node_status/list', { limit: 120 })).payload as {
      id: string;
      reconciled: unknown;
    }[];
    const of = (id: string) => shown.find((n) => n.id === id)?.reconciled;
    expect(of(n0)).toEqual({
      last24Hours: { sessionsEnded: 3, streamsEnded: 6, sessionsFound: 0, streamsFound: 2 },
      last7Days: { sessionsEnded: 13, streamsEnded: 26, sessionsFound: 0, streamsFound: 3 },
    });
    expect(of(n1)).toEqual({
      last24Hours: { sessionsEnded: 5, streamsEnded: 10, sessionsFound: 0, streamsFound: 1 },
      last7Days: { sessionsEnded: 5, streamsEnded: 10, sessionsFound: 0, streamsFound: 1 },
    });
    const nothing = { sessionsEnded: 0, streamsEnded: 0, sessionsFound: 0, streamsFound: 0 };
    expect(of('n10@127.0.1.10')).toEqual({ last24Hours: nothing, last7Days: nothing });
  });
});
