/**
 * The hook sequences of a publisher and of a player (reference §1.1–§1.4), sent by a fake WCS
 * through the local HTTP server to DynamoDB Local: every answer is what WCS expects, and the tables
 * hold the session, the streams and the data that went by.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { liveShardOf, streamKey } from '../../shared/state/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem, historyOf, queryBy } from '../support/tables.ts';

let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer();
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `lifecycle-${Date.now()}` });
});
afterAll(() => server.close());

describe('a publisher', () => {
  it('is answered 200 with its body mirrored at every step, and leaves a complete record', async () => {
    // Arrange
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'camera-1', true);
    const data = wcs.dataBody(session, { message: 'hello' });

    // Act: the sequence WCS sends for createSession → publish → sendData → stop → disconnect.
    const replies = [
      await wcs.send('connect', wcs.connectBody(session, { custom: { room: 'r1' } })),
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED')),
      await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING')),
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING')),
      await wcs.send('OnDataEvent', data),
      await wcs.send('DataStatusEvent', { ...session, operationId: data.operationId, status: 'ACCEPTED' }),
      await wcs.send('unPublishStream', wcs.streamBody(stream, 'PUBLISHING')),
      await wcs.send(
        'StreamStatusEvent',
        wcs.streamBody(stream, 'UNPUBLISHED', { info: 'Stopped by publisher stop' }),
      ),
      await wcs.send(
        'ConnectionStatusEvent',
        wcs.connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
      ),
    ];

    // Assert: WCS's view.
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.contentType).toMatch(/^application\/json/);
    }
    // connect mirrors every field it received, and adds the restClientConfig (docs/policy.md).
    expect(replies[0]?.json).toEqual({
      ...wcs.connectBody(session, { custom: { room: 'r1' } }),
      restClientConfig: expect.any(Object),
    });
    expect(replies[4]?.json).toEqual(data);

    // Assert: the session.
    const sessionItem = await getItem('sessions', { sessionId: session.sessionId });
    expect(sessionItem).toMatchObject({
      sessionId: session.sessionId,
      nodeId: wcs.nodeId,
      appKey: wcs.appKey,
      status: 'DISCONNECTED',
      info: 'Normal disconnect',
      clientVersion: '2.0.248',
      mediaProviders: ['WebRTC', 'MSE', 'WSPlayer'],
      custom: '{"room":"r1"}',
    });
    expect(historyOf(sessionItem)).toEqual(['PENDING', 'ESTABLISHED', 'DISCONNECTED']);
    expect(sessionItem?.connectedAt).toEqual(expect.any(String));
    expect(sessionItem?.endedAt).toEqual(expect.any(String));
    expect(sessionItem?.openAppKey).toBeUndefined();

    // Assert: the stream.
    const streamItem = await getItem('streams', streamKey(stream));
    expect(streamItem).toMatchObject({
      name: 'camera-1',
      published: true,
      sessionId: session.sessionId,
      status: 'UNPUBLISHED',
      info: 'Stopped by publisher stop',
      audioCodec: 'opus',
      videoCodec: 'H264',
      width: 640,
      mediaType: 'publish',
    });
    expect(historyOf(streamItem)).toEqual(['PENDING', 'PUBLISHING', 'UNPUBLISHED']);
    expect(streamItem?.stopRequestedAt).toEqual(expect.any(String));
    expect(streamItem?.liveShard).toBeUndefined();
    expect(streamItem?.sdp).toBeUndefined();

    // Assert: the data message.
    const message = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: String(data.operationId),
    });
    expect(message).toMatchObject({
      direction: 'IN',
      payload: '{"message":"hello"}',
      decision: 'ACCEPTED',
      status: 'ACCEPTED',
    });
  });

  it('is listed as live for its app while PUBLISHING, not before, and no longer once UNPUBLISHED', async () => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'live-check', true);
    await wcs.send('connect', wcs.connectBody(session));
    await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'));
    const pending = await queryBy(
      'streams',
      'liveShard',
      liveShardOf(wcs.appKey, 'live-check'),
      'liveStreams',
    );
    expect(pending.map((s) => s.mediaSessionId)).not.toContain(stream.mediaSessionId);

    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));

    const live = await queryBy('streams', 'liveShard', liveShardOf(wcs.appKey, 'live-check'), 'liveStreams');
    expect(live.map((s) => s.mediaSessionId)).toContain(stream.mediaSessionId);
    const open = await queryBy('sessions', 'openAppKey', wcs.appKey, 'openByApp');
    expect(open.map((s) => s.sessionId)).toContain(session.sessionId);

    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED'));
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));

    const liveAfter = await queryBy(
      'streams',
      'liveShard',
      liveShardOf(wcs.appKey, 'live-check'),
      'liveStreams',
    );
    expect(liveAfter.map((s) => s.mediaSessionId)).not.toContain(stream.mediaSessionId);
    const openAfter = await queryBy('sessions', 'openAppKey', wcs.appKey, 'openByApp');
    expect(openAfter.map((s) => s.sessionId)).not.toContain(session.sessionId);
  });

  it('keeps the codecs offered in the SDP but not the SDP itself', async () => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'with-sdp', true);
    const sdp = [
      'v=0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
      'a=rtpmap:111 opus/48000/2',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102',
      'a=rtpmap:96 VP8/90000',
      'a=rtpmap:97 rtx/90000',
      'a=rtpmap:102 H264/90000',
    ].join('\r\n');

    await wcs.send('connect', wcs.connectBody(session));
    const reply = await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING', { sdp }));

    expect(reply.status).toBe(200);
    expect(reply.json?.sdp).toBe(sdp);
    const item = await getItem('streams', streamKey(stream));
    expect(item?.sdp).toBeUndefined();
    expect(item?.statusHistory).toEqual([
      expect.objectContaining({
        status: 'PENDING',
        codecs: { audio: ['opus', '0'], video: ['VP8', 'H264'] },
      }),
    ]);
  });
});

describe('a player', () => {
  it('goes from playStream through PLAYING to STOPPED, with keep-alives on the way', async () => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'camera-1', false);

    const replies = [
      await wcs.send('connect', wcs.connectBody(session)),
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED')),
      await wcs.send('playStream', wcs.streamBody(stream, 'PENDING')),
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PLAYING')),
      await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PLAYING')),
      await wcs.send('stopStream', wcs.streamBody(stream, 'PLAYING')),
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'STOPPED', { info: 'Stopped by user' })),
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED')),
    ];

    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    const item = await getItem('streams', streamKey(stream));
    expect(item).toMatchObject({
      published: false,
      status: 'STOPPED',
      info: 'Stopped by user',
      mediaType: 'play',
    });
    expect(item?.lastKeepAliveAt).toEqual(expect.any(String));
    expect(historyOf(item)).toEqual(['PENDING', 'PLAYING', 'STOPPED']);
  });
});

describe("a live stream's keep-alives", () => {
  it('are written once per KEEP_ALIVE_WRITE_INTERVAL_S, not each one (every one is still decided)', async () => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'kept-alive', true);
    await wcs.send('connect', wcs.connectBody(session));
    await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));

    expect((await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'))).status).toBe(200);
    const first = (await getItem('streams', streamKey(stream)))?.lastKeepAliveAt;
    await new Promise((r) => setTimeout(r, 20));
    expect((await wcs.send('StreamKeepAliveEvent', wcs.streamBody(stream, 'PUBLISHING'))).status).toBe(200);

    expect(first).toEqual(expect.any(String));
    expect((await getItem('streams', streamKey(stream)))?.lastKeepAliveAt).toBe(first);
  });
});

describe('a refused or failed connection', () => {
  it('ends FAILED with its info even though WCS follows FAILED with DISCONNECTED', async () => {
    const session = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(session));
    await wcs.send(
      'ConnectionStatusEvent',
      wcs.connectionStatusBody(session, 'FAILED', 'Failed by ICE timeout'),
    );
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));

    const item = await getItem('sessions', { sessionId: session.sessionId });
    expect(item).toMatchObject({ status: 'FAILED', info: 'Failed by ICE timeout' });
    expect(historyOf(item)).toEqual(['PENDING', 'FAILED', 'DISCONNECTED']);
  });

  it('lists a FAILED stream with its info among the app’s failures', async () => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'flaky', true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'FAILED', { info: 'Failed by ICE error' }));

    const failed = await queryBy('streams', 'failedAppKey', wcs.appKey, 'failedByApp');
    expect(failed).toContainEqual(
      expect.objectContaining({
        mediaSessionId: stream.mediaSessionId,
        name: 'flaky',
        info: 'Failed by ICE error',
      }),
    );
  });
});

describe('the catch-all', () => {
  it('answers any other method as EchoApp does and records the call once, however often WCS retries it', async () => {
    const session = wcs.newSession();
    const body = { ...session, callId: 'c-1', status: 'RING', caller: 'alice', callee: 'bob' };

    const first = await wcs.send('CallStatusEvent', body);
    const retry = await wcs.send('CallStatusEvent', body);

    expect(first.status).toBe(200);
    expect(first.json).toEqual(body);
    expect(retry.json).toEqual(body);
    const events = await queryBy('events', 'sessionId', session.sessionId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: 'CallStatusEvent', status: 'RING', appKey: wcs.appKey });
    expect(JSON.parse(String(events[0]?.body))).toMatchObject({ callee: 'bob' });
  });

  it('answers a method no WCS release has named yet, so a new hook keeps working', async () => {
    const session = wcs.newSession();
    const reply = await wcs.send('SomeFutureEvent', { ...session, value: 1 });

    expect(reply.status).toBe(200);
    expect(await queryBy('events', 'sessionId', session.sessionId)).toEqual([
      expect.objectContaining({ method: 'SomeFutureEvent' }),
    ]);
  });

  it('records an ErrorEvent with its info', async () => {
    const session = wcs.newSession();
    const reply = await wcs.send('ErrorEvent', { ...session, info: 'Failed to add stream to proxy' });

    expect(reply.status).toBe(200);
    expect(await queryBy('events', 'sessionId', session.sessionId)).toEqual([
      expect.objectContaining({ method: 'ErrorEvent', info: 'Failed to add stream to proxy' }),
    ]);
  });
});

describe('a token a hook carries', () => {
  it('is stored by no hook: a ConnectionStatusEvent or a catch-all hook of a session never seen at connect', async () => {
    const session = wcs.newSession();
    const custom = {
      token: 'eyJ.secret.jwt',
      room: 'r1',
      nested: { authToken: 'x', apiSecret: 'y', keep: 1 },
    };

    await wcs.send('ConnectionStatusEvent', {
      ...wcs.connectionStatusBody(session, 'ESTABLISHED'),
      custom,
      sipPassword: 'sip-secret',
    });
    await wcs.send('CallStatusEvent', {
      ...session,
      status: 'RING',
      custom,
      sipPassword: 'sip-secret',
      authToken: 't',
    });

    const stored = JSON.stringify([
      await getItem('sessions', { sessionId: session.sessionId }),
      await queryBy('events', 'sessionId', session.sessionId),
    ]);
    expect(stored).not.toMatch(/eyJ\.secret\.jwt|sip-secret|apiSecret|authToken/);
    expect(JSON.parse(String((await getItem('sessions', { sessionId: session.sessionId }))?.custom))).toEqual(
      {
        room: 'r1',
        nested: { keep: 1 },
      },
    );
  });
});
