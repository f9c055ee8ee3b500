/**
 * Late and duplicated hooks. WCS sends hooks from a thread pool and retries a failed send up to 3
 * times (reference §0, §0.2), so hooks arrive late, twice, or before the hook that preceded them.
 * The tables must end as if they had arrived once, in order, and an ended session or stream must
 * never come back to life.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem, historyOf } from '../support/tables.ts';

let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer();
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'reordering' });
});
afterAll(() => server.close());

const withoutTimes = (item: Record<string, unknown> | undefined) => {
  const {
    firstStatusAt,
    historyDay,
    lastStatusAt,
    endedAt,
    endDetectedAt,
    expiresAt,
    statusHistory,
    seenStatuses,
    connectedAt,
    ...rest
  } = item ?? {};
  return { ...rest, history: historyOf(item).sort() };
};

describe('a stream', () => {
  it('stays UNPUBLISHED when a PUBLISHING hook arrives after its end', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'late-publishing', true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED'));

    const reply = await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));

    expect(reply.status).toBe(200);
    const item = await getItem('streams', streamKey(stream));
    expect(item?.status).toBe('UNPUBLISHED');
    expect(item?.liveShard).toBeUndefined();
    expect(historyOf(item)).toEqual(['PUBLISHING', 'UNPUBLISHED']);
  });

  it('ends in the same state whether its hooks arrive in order or end-first', async () => {
    const session = wcs.newSession();
    const inOrder = wcs.newStream(session, 'same-either-way', true);
    const reversed = { ...inOrder, mediaSessionId: `${inOrder.mediaSessionId}-reversed` };
    const hooks = (s: typeof inOrder) =>
      [
        ['publishStream', wcs.streamBody(s, 'PENDING')],
        ['StreamStatusEvent', wcs.streamBody(s, 'PUBLISHING')],
        ['StreamStatusEvent', wcs.streamBody(s, 'UNPUBLISHED', { info: 'Stopped by publisher stop' })],
      ] as const;

    for (const [method, body] of hooks(inOrder)) await wcs.send(method, body);
    for (const [method, body] of hooks(reversed).toReversed()) await wcs.send(method, body);

    const a = await getItem('streams', streamKey(inOrder));
    const b = await getItem('streams', streamKey(reversed));
    expect(withoutTimes(b)).toEqual({
      ...withoutTimes(a),
      mediaSessionId: reversed.mediaSessionId,
      liveKey: `same-either-way#publisher#${reversed.mediaSessionId}`,
    });
    expect(b?.status).toBe('UNPUBLISHED');
  });

  it('is recorded once when WCS repeats a hook', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'repeated', true);
    const body = wcs.streamBody(stream, 'PUBLISHING');

    const replies = await Promise.all([1, 2, 3].map(() => wcs.send('StreamStatusEvent', body)));

    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    const item = await getItem('streams', streamKey(stream));
    expect(historyOf(item)).toEqual(['PUBLISHING']);
  });

  it('is not revived by a keep-alive that arrives after it stopped', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'late-keepalive', false);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PLAYING'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'STOPPED'));

    await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PLAYING'));

    const item = await getItem('streams', streamKey(stream));
    expect(item?.status).toBe('STOPPED');
    expect(item?.liveShard).toBeUndefined();
  });

  it('is learned from a keep-alive when its PUBLISHING hook was lost', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'keepalive-only', true);

    await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'));

    const item = await getItem('streams', streamKey(stream));
    expect(item).toMatchObject({
      status: 'PUBLISHING',
      liveShard: expect.stringMatching(/^live#\d\d$/),
      name: 'keepalive-only',
    });
    expect(item?.lastKeepAliveAt).toEqual(expect.any(String));
  });

  it('keeps FAILED over UNPUBLISHED in either order', async () => {
    const session = wcs.newSession();
    const first = wcs.newStream(session, 'failed-first', true);
    const second = wcs.newStream(session, 'failed-second', true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(first, 'FAILED', { info: 'Failed by RTP activity' }));
    await wcs.send('StreamStatusEvent', wcs.streamBody(first, 'UNPUBLISHED'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(second, 'UNPUBLISHED'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(second, 'FAILED', { info: 'Failed by RTP activity' }));

    for (const stream of [first, second]) {
      const item = await getItem('streams', streamKey(stream));
      expect(item).toMatchObject({
        status: 'FAILED',
        info: 'Failed by RTP activity',
        failedAppKey: 'reordering',
      });
    }
  });

  it('records a status WCS may add later in the history without letting it replace a known one', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'unknown-status', true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));

    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'RESIZE'));

    const item = await getItem('streams', streamKey(stream));
    expect(item?.status).toBe('PUBLISHING');
    expect(historyOf(item)).toEqual(['PUBLISHING', 'RESIZE']);
  });
});

describe('a session', () => {
  it('stays DISCONNECTED when a late ESTABLISHED arrives, which still fills in what it lacked', async () => {
    const session = wcs.newSession();
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));

    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED'));

    const item = await getItem('sessions', { sessionId: session.sessionId });
    expect(item?.status).toBe('DISCONNECTED');
    expect(item?.openAppKey).toBeUndefined();
    expect(item).toMatchObject({ clientVersion: '2.0.248' });
    expect([...historyOf(item)].sort()).toEqual(['DISCONNECTED', 'ESTABLISHED']);
  });

  it('takes a connect after its end for a later connection under its id (identity.test.ts): the ended one is kept, not reopened', async () => {
    const session = wcs.newSession();
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));

    await wcs.send('connect', wcs.connectBody(session));

    const item = await getItem('sessions', { sessionId: session.sessionId });
    expect(item).toMatchObject({ status: 'PENDING', generation: 2 });
    expect(item?.previousGenerations).toEqual([
      expect.objectContaining({ generation: 1, status: 'DISCONNECTED' }),
    ]);
  });

  it('is recorded once when connect is retried', async () => {
    const session = wcs.newSession();

    await wcs.send('connect', wcs.connectBody(session));
    const retry = await wcs.send('connect', wcs.connectBody(session));

    expect(retry.status).toBe(200);
    const item = await getItem('sessions', { sessionId: session.sessionId });
    expect(historyOf(item)).toEqual(['PENDING']);
  });
});

describe('a data message', () => {
  it('keeps FAILED when a late ACCEPTED arrives, and its payload when DataStatusEvent came first', async () => {
    const session = wcs.newSession();
    const data = wcs.dataBody(session, { n: 1 });
    await wcs.send('connect', wcs.connectBody(session));
    await wcs.send('DataStatusEvent', { ...session, operationId: data.operationId, status: 'FAILED' });
    await wcs.send('OnDataEvent', data);
    await wcs.send('DataStatusEvent', { ...session, operationId: data.operationId, status: 'ACCEPTED' });

    const item = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: String(data.operationId),
    });
    expect(item).toMatchObject({ status: 'FAILED', payload: '{"n":1}', decision: 'ACCEPTED' });
  });
});
