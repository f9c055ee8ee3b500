/**
 * A session is who it is (issue 24, item 4), through real HTTP against DynamoDB Local: the node of a
 * session or stream is the node of its first hook, and a hook naming another node neither moves nor
 * changes it; a session id used again by a later connection (WCS's `/clientIP:port/serverIP:port`
 * ids behind NAT) starts a new generation of the session instead of being refused for good. Also
 * what reconciliation records (`happenedAt`, `provisional`) and the PENDING streams of the per-node
 * index, which reconciliation reads.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { recorderByMethod } from '../../shared/state/recorders.ts';
import { openSessionsOn, recordConnect, recordUnseenSession } from '../../shared/state/sessions.ts';
import { liveStreamsOn, streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem, historyOf, queryBy } from '../support/tables.ts';

let server: RunningHookServer;
const record = recorderByMethod();

beforeAll(async () => {
  server = await startHookServer();
});
afterAll(() => server.close());

/** Two fake nodes serving one fresh open app: `a`, where things start, and `b`, another node. */
async function twoNodes() {
  const appKey = `identity-${randomUUID().slice(0, 8)}`;
  await putAppPolicy(appKey, { admission: 'open' });
  return {
    a: new FakeWcs({ appUrl: server.appUrl, appKey, ip: '127.0.0.1' }),
    b: new FakeWcs({ appUrl: server.appUrl, appKey, ip: '127.0.0.2' }),
  };
}

/** `body` as node `other` would send it: the same session, another `nodeId`. */
const from = (other: FakeWcs, body: Record<string, unknown>) => ({ ...body, nodeId: other.nodeId });

async function established(wcs: FakeWcs, session = wcs.newSession()): Promise<WcsSession> {
  expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
  expect(
    (await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED'))).status,
  ).toBe(200);
  return session;
}

const sessionItem = (session: WcsSession) => getItem('sessions', { sessionId: session.sessionId });
const eventsOf = (session: WcsSession) => queryBy('events', 'sessionId', session.sessionId);

describe('the node of a session', () => {
  it('is the node of its first hook: ConnectionStatusEvents from another node neither move nor end it, and are kept as events', async () => {
    const { a, b } = await twoNodes();
    const session = a.newSession();
    await a.send('connect', a.connectBody(session));

    const replies = [
      await a.send('ConnectionStatusEvent', from(b, a.connectionStatusBody(session, 'ESTABLISHED'))),
      await a.send('ConnectionStatusEvent', from(b, a.connectionStatusBody(session, 'DISCONNECTED'))),
    ];

    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect(await sessionItem(session)).toMatchObject({
      nodeId: a.nodeId,
      openNodeId: a.nodeId,
      status: 'PENDING',
      openAppKey: a.appKey,
    });
    expect(await openSessionsOn(a.nodeId)).toContain(session.sessionId);
    expect(await openSessionsOn(b.nodeId)).not.toContain(session.sessionId);
    const kept = (await eventsOf(session)).filter((e) => e.method === 'ConnectionStatusEvent');
    expect(kept.map((e) => e.status).sort()).toEqual(['DISCONNECTED', 'ESTABLISHED']);
    for (const event of kept) expect(event).toMatchObject({ nodeId: b.nodeId, itemNodeId: a.nodeId });
  });

  it('refuses publishStream, playStream and OnDataEvent of a session recorded on another node, naming both nodes', async () => {
    const { a, b } = await twoNodes();
    const session = await established(a);
    const publish = a.newStream(session, 'elsewhere', true);
    const play = a.newStream(session, 'elsewhere', false);

    const replies = [
      await a.send('publishStream', from(b, a.streamBody(publish, 'PENDING'))),
      await a.send('playStream', from(b, a.streamBody(play, 'PENDING'))),
      await a.send('OnDataEvent', from(b, a.dataBody(session, { hello: 1 }))),
    ];

    for (const reply of replies) {
      expect(reply.status).toBe(403);
      expect(reply.json?.message).toContain(a.nodeId);
      expect(reply.json?.message).toContain(b.nodeId);
    }
    // Only the refusal is recorded of it: its mark, no status, no node (docs/data-model.md, "Refused attempts").
    const refused = await getItem('streams', streamKey(publish));
    expect(refused).toMatchObject({ refusedAt: expect.any(String) });
    expect(refused).not.toHaveProperty('status');
    expect(refused).not.toHaveProperty('nodeId');
    expect(await sessionItem(session)).toMatchObject({ nodeId: a.nodeId, status: 'ESTABLISHED' });
  });

  it('refuses a connect from another node for a session open on its own, naming both nodes', async () => {
    const { a, b } = await twoNodes();
    const session = await established(a);

    const reply = await a.send('connect', from(b, a.connectBody(session)));

    expect(reply.status).toBe(403);
    expect(reply.json?.message).toBe(
      `session ${session.sessionId} is on node ${a.nodeId}; this connect came from node ${b.nodeId}`,
    );
    expect(await sessionItem(session)).toMatchObject({ nodeId: a.nodeId, status: 'ESTABLISHED' });
  });

  it('answers a keep-alive from another node 200, even for a revoked session, without applying it', async () => {
    const { a, b } = await twoNodes();
    const session = await established(a);
    const stream = a.newStream(session, `kept-${randomUUID().slice(0, 6)}`, true);
    await a.send('publishStream', a.streamBody(stream, 'PENDING'));
    await a.goLive(stream);
    const { revokeSession } = await import('../../shared/state/sessions.ts');
    await revokeSession(session.sessionId, new Date());

    const reply = await a.send('StreamKeepAliveEvent', from(b, a.streamBody(stream, 'PUBLISHING')));

    expect(reply.status).toBe(200);
    const item = await getItem('streams', streamKey(stream));
    expect(item).toMatchObject({ nodeId: a.nodeId, liveNodeId: a.nodeId, status: 'PUBLISHING' });
    expect(item?.lastKeepAliveAt).toBeUndefined();
    expect((await eventsOf(session)).find((e) => e.method === 'StreamKeepAliveEvent')).toMatchObject({
      nodeId: b.nodeId,
      itemNodeId: a.nodeId,
    });
  });
});

describe('the node of a stream', () => {
  it('is the node of its first hook: StreamStatusEvents from another node neither move it in the per-node index nor end it', async () => {
    const { a, b } = await twoNodes();
    const session = await established(a);
    const stream = a.newStream(session, `moved-${randomUUID().slice(0, 6)}`, true);
    await a.send('publishStream', a.streamBody(stream, 'PENDING'));

    await a.send('StreamStatusEvent', from(b, a.streamBody(stream, 'PUBLISHING')));
    await a.send('StreamStatusEvent', from(b, a.streamBody(stream, 'UNPUBLISHED')));
    await a.send('unPublishStream', from(b, a.streamBody(stream, 'PUBLISHING')));

    const item = await getItem('streams', streamKey(stream));
    expect(item).toMatchObject({ nodeId: a.nodeId, liveNodeId: a.nodeId, status: 'PENDING' });
    expect(item?.stopRequestedAt).toBeUndefined();
    expect((await liveStreamsOn(b.nodeId)).map((s) => s.mediaSessionId)).not.toContain(stream.mediaSessionId);
    const kept = (await eventsOf(session)).filter((e) => e.mediaSessionId === stream.mediaSessionId);
    expect(kept.map((e) => `${e.method}:${e.status}`).sort()).toEqual([
      'StreamStatusEvent:PUBLISHING',
      'StreamStatusEvent:UNPUBLISHED',
      'unPublishStream:PUBLISHING',
    ]);
  });
});

describe('a PENDING stream', () => {
  it('is in the per-node index from publishStream until it ends, so that reconciliation can end it', async () => {
    const { a } = await twoNodes();
    const session = await established(a);
    const stream = a.newStream(session, `pending-${randomUUID().slice(0, 6)}`, true);

    await a.send('publishStream', a.streamBody(stream, 'PENDING'));
    const pending = (await liveStreamsOn(a.nodeId)).map((s) => s.mediaSessionId);
    await a.send('StreamStatusEvent', a.streamBody(stream, 'FAILED', { info: 'Failed by ICE error' }));
    const ended = (await liveStreamsOn(a.nodeId)).map((s) => s.mediaSessionId);

    expect(pending).toContain(stream.mediaSessionId);
    expect(ended).not.toContain(stream.mediaSessionId);
  });
});

describe('a session id used again', () => {
  it('starts a new generation at a connect after the end: the new connection may publish and send data, the old one is kept', async () => {
    const { a } = await twoNodes();
    const session = await established(a);
    await a.send(
      'ConnectionStatusEvent',
      a.connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
    );

    await established(a, session);
    const stream = a.newStream(session, `again-${randomUUID().slice(0, 6)}`, true);
    const replies = [
      await a.send('publishStream', a.streamBody(stream, 'PENDING')),
      await a.send('OnDataEvent', a.dataBody(session, { again: true })),
    ];

    expect(replies.map((r) => [r.status, r.json?.message])).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
    const item = await sessionItem(session);
    expect(item).toMatchObject({
      status: 'ESTABLISHED',
      generation: 2,
      generationStartedAt: expect.any(String),
      openAppKey: a.appKey,
      openNodeId: a.nodeId,
    });
    expect(historyOf(item)).toEqual(['PENDING', 'ESTABLISHED']);
    expect(item?.previousGenerations).toEqual([
      expect.objectContaining({
        generation: 1,
        status: 'DISCONNECTED',
        info: 'Normal disconnect',
        nodeId: a.nodeId,
        connectedAt: expect.any(String),
        endedAt: expect.any(String),
        statusHistory: [
          expect.objectContaining({ status: 'PENDING' }),
          expect.objectContaining({ status: 'ESTABLISHED' }),
          expect.objectContaining({ status: 'DISCONNECTED' }),
        ],
      }),
    ]);
    const [previous] = (item?.previousGenerations ?? []) as { endedAt: string }[];
    expect(String(item?.generationStartedAt) > String(previous?.endedAt)).toBe(true);

    // The analysts' realm tells the generations apart, each with its own streams.
    const { handleRealm } = await import('../../shared/realtime/realms.ts');
    const reply = await handleRealm({
      requestId: 'h',
      realm: '/api/session/history',
      payload: { sessionId: session.sessionId },
    });
    expect(reply).toMatchObject({
      status: 200,
      payload: {
        generation: 2,
        status: 'ESTABLISHED',
        streams: [expect.objectContaining({ mediaId: stream.mediaSessionId })],
        previousGenerations: [
          expect.objectContaining({ generation: 1, status: 'DISCONNECTED', streams: [] }),
        ],
      },
    });
  });

  it('may start on another node than the generation before it', async () => {
    const { a, b } = await twoNodes();
    const session = await established(a);
    await a.send('ConnectionStatusEvent', a.connectionStatusBody(session, 'DISCONNECTED'));

    await established(b, { ...session, nodeId: b.nodeId });

    expect(await sessionItem(session)).toMatchObject({
      status: 'ESTABLISHED',
      generation: 2,
      nodeId: b.nodeId,
      openNodeId: b.nodeId,
      previousGenerations: [expect.objectContaining({ nodeId: a.nodeId })],
    });
  });

  it('is not changed by a hook received before its current generation began (a spilled one replayed late)', async () => {
    const { a } = await twoNodes();
    const session = await established(a);
    const endedEarly = new Date();
    await a.send('ConnectionStatusEvent', a.connectionStatusBody(session, 'DISCONNECTED'));
    await established(a, session);

    await record(a.connectionStatusBody(session, 'FAILED', 'Failed by error'), {
      method: 'ConnectionStatusEvent',
      receivedAt: endedEarly,
      digest: `replayed-${randomUUID()}`,
    });

    expect(await sessionItem(session)).toMatchObject({ status: 'ESTABLISHED', generation: 2 });
    expect((await eventsOf(session)).find((e) => e.status === 'FAILED')).toMatchObject({
      method: 'ConnectionStatusEvent',
    });
  });

  it('is not reopened by the connect write of an abandoned decision that lands after its fail-mode FAILED', async () => {
    const { a } = await twoNodes();
    const session = a.newSession();
    const receivedAt = new Date();
    // The fail mode records the refusal with the connect's own arrival time (shared/http/hook-handler.ts).
    await record(a.connectionStatusBody(session, 'FAILED', 'refused by wcs-hooks: admission unavailable'), {
      method: 'ConnectionStatusEvent',
      receivedAt,
      digest: `refusal-${randomUUID()}`,
    });

    await recordConnect(
      {
        ...session,
        mediaProviders: ['WebRTC'],
        clientVersion: '2',
        clientOSVersion: 'x',
        clientBrowserVersion: 'y',
      },
      receivedAt,
    );

    const item = await sessionItem(session);
    expect(item).toMatchObject({ status: 'FAILED' });
    expect(item?.openAppKey).toBeUndefined();
    expect(item?.previousGenerations).toBeUndefined();
  });

  it('keeps at most 10 previous generations, and counts the ones before them', async () => {
    const { a } = await twoNodes();
    const session = a.newSession();
    for (let i = 0; i < 12; i++) {
      await established(a, session);
      await a.send('ConnectionStatusEvent', a.connectionStatusBody(session, 'DISCONNECTED'));
    }

    const item = await sessionItem(session);
    const previous = item?.previousGenerations as { generation: number }[];
    expect(item).toMatchObject({ generation: 12, status: 'DISCONNECTED', earlierGenerationsDropped: 1 });
    expect(previous.map((g) => g.generation)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('is started again by reconciliation for an id the node lists whose session ended more than the grace ago, and only then', async () => {
    const { a } = await twoNodes();
    const session = await established(a);
    await a.send('ConnectionStatusEvent', a.connectionStatusBody(session, 'DISCONNECTED'));
    const now = new Date();

    const tooRecent = await recordUnseenSession(session, 'reconciliation', now, {
      provisional: true,
      newGenerationIfEndedBefore: new Date(now.getTime() - 60_000),
    });
    const stillEnded = await sessionItem(session);
    const found = await recordUnseenSession(session, 'reconciliation', new Date(now.getTime() + 1), {
      provisional: true,
      newGenerationIfEndedBefore: now,
    });

    expect(tooRecent.outcome).toBe('duplicate');
    expect(stillEnded).toMatchObject({ status: 'DISCONNECTED' });
    expect(found).toMatchObject({ outcome: 'advanced', generation: 2 });
    expect(await sessionItem(session)).toMatchObject({
      status: 'ESTABLISHED',
      provisional: true,
      generation: 2,
      firstSeenBy: 'reconciliation',
      openNodeId: a.nodeId,
    });
  });
});

describe('an end detected after it happened (happenedAt)', () => {
  it('is stamped with when it happened, and apart from that with when it was detected', async () => {
    const { a } = await twoNodes();
    const session = await established(a);
    const stream = a.newStream(session, `late-end-${randomUUID().slice(0, 6)}`, true);
    await a.goLive(stream);
    const happenedAt = new Date();
    const detectedAt = new Date(happenedAt.getTime() + 30_000);

    for (const [method, body] of [
      ['StreamStatusEvent', a.streamBody(stream, 'UNPUBLISHED', { info: 'Reconciled' })],
      ['ConnectionStatusEvent', a.connectionStatusBody(session, 'DISCONNECTED', 'Reconciled')],
    ] as const)
      await record(body, { method, receivedAt: detectedAt, happenedAt, digest: `end-${randomUUID()}` });

    for (const item of [await getItem('streams', streamKey(stream)), await sessionItem(session)]) {
      expect(item).toMatchObject({
        endedAt: happenedAt.toISOString(),
        endDetectedAt: detectedAt.toISOString(),
      });
      expect(((item?.statusHistory ?? []) as unknown[]).at(-1)).toMatchObject({
        at: detectedAt.toISOString(),
        happenedAt: happenedAt.toISOString(),
      });
    }
  });

  it('is never stamped before the first hook of the item', async () => {
    const { a } = await twoNodes();
    const stream = a.newStream(await established(a), `early-${randomUUID().slice(0, 6)}`, false);
    await a.goLive(stream);
    const first = String((await getItem('streams', streamKey(stream)))?.firstStatusAt);

    await record(a.streamBody(stream, 'STOPPED'), {
      method: 'StreamStatusEvent',
      receivedAt: new Date(Date.parse(first) + 5_000),
      happenedAt: new Date(Date.parse(first) - 60_000),
      digest: `early-${randomUUID()}`,
    });

    expect(await getItem('streams', streamKey(stream))).toMatchObject({ status: 'STOPPED', endedAt: first });
  });
});

describe('what reconciliation found (provisional)', () => {
  const found = (stream: WcsStream, a: FakeWcs, at: Date) =>
    record(a.streamBody(stream, 'PUBLISHING', { info: 'Found by wcs-hooks reconciliation', width: 320 }), {
      method: 'StreamStatusEvent',
      receivedAt: at,
      provisional: true,
      digest: `found-${randomUUID()}`,
    });

  it('is replaced by the real hook of the same status, arriving later', async () => {
    const { a } = await twoNodes();
    const stream = a.newStream(await established(a), `found-${randomUUID().slice(0, 6)}`, true);
    await found(stream, a, new Date());
    const provisional = await getItem('streams', streamKey(stream));

    await a.send('StreamStatusEvent', a.streamBody(stream, 'PUBLISHING'));

    expect(provisional).toMatchObject({ status: 'PUBLISHING', provisional: true, width: 320 });
    expect(provisional?.seenStatuses).toBeUndefined();
    const real = await getItem('streams', streamKey(stream));
    expect(real).toMatchObject({ status: 'PUBLISHING', width: 640, liveNodeId: a.nodeId });
    expect(real?.provisional).toBeUndefined();
    expect(real?.info).toBeUndefined();
    expect(real?.seenStatuses).toEqual(new Set(['PUBLISHING']));
    expect(real?.statusHistory).toEqual([
      expect.objectContaining({ status: 'PUBLISHING', provisional: true }),
      expect.not.objectContaining({ provisional: true }),
    ]);
  });

  it('changes nothing once the real hook was recorded', async () => {
    const { a } = await twoNodes();
    const stream = a.newStream(await established(a), `real-first-${randomUUID().slice(0, 6)}`, true);
    await a.goLive(stream);
    const before = await getItem('streams', streamKey(stream));

    await found(stream, a, new Date());

    expect(await getItem('streams', streamKey(stream))).toEqual(before);
  });

  it('records a found session provisionally, replaced by its real ESTABLISHED', async () => {
    const { a } = await twoNodes();
    const session = a.newSession();
    await recordUnseenSession(session, 'reconciliation', new Date(), { provisional: true });
    const provisional = await sessionItem(session);

    await a.send('ConnectionStatusEvent', a.connectionStatusBody(session, 'ESTABLISHED'));

    expect(provisional).toMatchObject({ status: 'ESTABLISHED', provisional: true });
    const real = await sessionItem(session);
    expect(real).toMatchObject({ status: 'ESTABLISHED', clientVersion: '2.0.248' });
    expect(real?.provisional).toBeUndefined();
    expect(real?.seenStatuses).toEqual(new Set(['ESTABLISHED']));
  });
});
