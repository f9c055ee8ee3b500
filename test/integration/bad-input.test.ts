/**
 * Bad input gets a clear 4xx with a JSON body saying what is wrong, and writes nothing: malformed
 * JSON, a wrong content type, an oversized body, missing or mistyped fields of a decision, junk
 * paths. An event is different: WCS does not resend it, so it is recorded with what can be kept,
 * and kept whole as a raw event when not even its key can be told (never a 400 that loses it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem, queryBy } from '../support/tables.ts';

let server: RunningHookServer;
let wcs: FakeWcs;
const LIMIT = 4096;

beforeAll(async () => {
  server = await startHookServer({ HOOK_BODY_LIMIT_BYTES: String(LIMIT) });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'bad-input' });
});
afterAll(() => server.close());

describe('a hook with a body that is not JSON', () => {
  it('answers 400 naming the problem and records no session', async () => {
    const session = wcs.newSession();
    const raw = JSON.stringify(wcs.connectBody(session)).slice(0, -7);

    const reply = await wcs.sendRaw('connect', raw);

    expect(reply.status).toBe(400);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(reply.json).toMatchObject({
      error: 'MalformedJson',
      message: expect.stringContaining('not valid JSON'),
    });
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });

  it('answers 400 for an empty body', async () => {
    const reply = await wcs.sendRaw('StreamStatusEvent', '');
    expect(reply.status).toBe(400);
    expect(reply.json?.error).toBe('MalformedJson');
  });

  it('answers 400 for a decision whose JSON body is not an object', async () => {
    const reply = await wcs.sendRaw('publishStream', '[1,2,3]');
    expect(reply.status).toBe(400);
    expect(reply.json?.error).toBe('ValidationError');
  });
});

describe('a hook with the wrong content type', () => {
  it('answers 415 and records nothing', async () => {
    const session = wcs.newSession();

    const reply = await wcs.sendRaw('connect', JSON.stringify(wcs.connectBody(session)), {
      'content-type': 'text/plain',
    });

    expect(reply.status).toBe(415);
    expect(reply.json).toMatchObject({
      error: 'UnsupportedMediaType',
      message: expect.stringContaining('text/plain'),
    });
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });
});

describe('a hook over the body size limit', () => {
  it('is answered 413 from its declared length, before its body is sent or read', async () => {
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    const answer = new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
    await new Promise((resolve) => socket.once('connect', resolve));

    // 9.9 MB announced, unsigned; only the headers are ever sent.
    socket.write(
      `POST /hooks/CallStatusEvent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${9_900_000}\r\n\r\n`,
    );

    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
    socket.destroy();
  });

  it('answers 413 with the size and the limit, and records nothing', async () => {
    const session = wcs.newSession();
    const body = wcs.dataBody(session, { blob: 'x'.repeat(LIMIT) });

    const reply = await wcs.send('OnDataEvent', body);

    expect(reply.status).toBe(413);
    expect(reply.json).toMatchObject({ error: 'PayloadTooLarge', details: { limitBytes: LIMIT } });
    expect(
      await getItem('dataMessages', { sessionId: session.sessionId, operationId: String(body.operationId) }),
    ).toBeUndefined();
  });
});

describe('a decision with missing or mistyped fields', () => {
  it('answers 400 naming each bad field, and records no stream', async () => {
    const session = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(session));
    const stream = wcs.newStream(session, 'typed', true);
    const body = { ...wcs.streamBody(stream, 'PENDING'), published: 'true', width: '640' };

    const reply = await wcs.send('publishStream', body);

    expect(reply.status).toBe(400);
    expect(reply.json?.error).toBe('ValidationError');
    const fields = ((reply.json?.details ?? []) as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(['published', 'width']);
    expect(await getItem('streams', streamKey(stream))).toBeUndefined();
  });

  it.each([
    ['publishStream', false],
    ['playStream', true],
  ] as const)(
    'answers 400 naming published for a %s with published %s, and records and holds nothing',
    async (method, published) => {
      // One place per stream, taken: a player's admission then reads what a publisher's function may not.
      const appKey = `contradiction-${published}-${Date.now()}`;
      await putAppPolicy(appKey, { admission: 'open', maxPlayersPerStream: 1, singlePublisher: true });
      const app = new FakeWcs({ appUrl: server.appUrl, appKey });
      const viewer = app.newSession();
      await app.send('connect', app.connectBody(viewer));
      const player = app.newStream(viewer, 'contradiction', false);
      expect((await app.send('playStream', app.streamBody(player, 'PENDING'))).status).toBe(200);
      const session = app.newSession();
      await app.send('connect', app.connectBody(session));
      const stream = app.newStream(session, 'contradiction', published);

      const reply = await app.send(method, app.streamBody(stream, 'PENDING'));

      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({
        error: 'ValidationError',
        details: [expect.objectContaining({ field: 'published' })],
      });
      expect(await getItem('streams', streamKey(stream))).toBeUndefined();
      const holds = await getItem('streamNames', { appKey, name: 'contradiction' });
      expect(holds).toMatchObject({ playerCount: 1 });
      expect(holds?.publisherMediaSessionId).toBeUndefined();
    },
  );

  it('answers 400 when a context field is missing', async () => {
    const session = wcs.newSession();
    const { sessionId: _omitted, ...body } = wcs.connectBody(session);

    const reply = await wcs.send('connect', body);

    expect(reply.status).toBe(400);
    expect(reply.json?.details).toEqual([expect.objectContaining({ field: 'sessionId' })]);
  });

  it('accepts fields it does not know, since WCS releases add fields', async () => {
    const session = wcs.newSession();
    const body = wcs.connectBody(session, { someNewWcsField: { nested: true } });

    const reply = await wcs.send('connect', body);

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ ...body, restClientConfig: expect.any(Object) });
  });

  it('accepts null where WCS leaves an optional field unset', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'nulls', true);
    const reply = await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(stream, 'PUBLISHING', { info: null, custom: null }),
    );
    expect(reply.status).toBe(200);
  });

  it('answers 400 for a body nested too deeply, and records nothing', async () => {
    const session = wcs.newSession();
    const raw = `{"nodeId":"n","appKey":"a","sessionId":"${session.sessionId}","custom":${'['.repeat(500)}${']'.repeat(500)}}`;

    const reply = await wcs.sendRaw('connect', raw);

    expect(reply.status).toBe(400);
    expect(reply.json?.message).toBe('body is nested deeper than 100 levels');
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });

  it('refuses a __proto__ key rather than letting it reach an object', async () => {
    const reply = await wcs.sendRaw('CallStatusEvent', '{"sessionId":"p","__proto__":{"polluted":true}}');
    expect(reply.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('an event with missing or mistyped fields', () => {
  const rawEventsOf = async (sessionId: string) =>
    (await queryBy('events', 'sessionId', sessionId)).filter((e) => e.unidentified !== undefined);

  it('is recorded without a field of the wrong type, and says 200', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'typed-event', true);
    const body = { ...wcs.streamBody(stream, 'PUBLISHING'), published: 'true', width: '640' };

    const reply = await wcs.send('StreamStatusEvent', body);

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(body);
    const item = await getItem('streams', streamKey(stream));
    // `published` inferred from the status, as WCS's PUBLISHING is a publisher's.
    expect(item).toMatchObject({ status: 'PUBLISHING', published: true, height: 480 });
    expect(item?.width).toBeUndefined();
  });

  it.each([
    ['without published', { published: undefined }, { status: 'PLAYING', published: false }],
    [
      'without published or a telling status',
      { published: undefined, mediaType: undefined },
      { status: 'FAILED' },
    ],
    ['with a null name', { name: null }, { status: 'PUBLISHING', published: true }],
  ])('is recorded %s', async (_case, overrides, expected) => {
    const stream = wcs.newStream(wcs.newSession(), 'partial', expected.status !== 'PLAYING');
    const status = expected.status;
    const body = { ...wcs.streamBody(stream, status), ...overrides } as Record<string, unknown>;
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];

    const reply = await wcs.send('StreamStatusEvent', body);

    expect(reply.status).toBe(200);
    expect(await getItem('streams', streamKey(stream))).toMatchObject(expected);
  });

  it.each([
    ['without mediaSessionId', { mediaSessionId: undefined }],
    ['with mediaSessionId null (as WCS says "MediaSessionId is null")', { mediaSessionId: null }],
    ['with a mediaSessionId of the wrong type', { mediaSessionId: 42 }],
  ])('is kept whole as a raw event when it is %s, and says 200', async (_case, overrides) => {
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'unidentified', true);
    const body = {
      ...wcs.streamBody(stream, 'FAILED', { info: 'MediaSessionId is null' }),
      ...overrides,
    } as Record<string, unknown>;
    if (overrides.mediaSessionId === undefined) delete body.mediaSessionId;

    const reply = await wcs.send('StreamStatusEvent', body);

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(body);
    const [raw] = await rawEventsOf(session.sessionId);
    expect(raw).toMatchObject({
      method: 'StreamStatusEvent',
      status: 'FAILED',
      info: 'MediaSessionId is null',
    });
    expect(raw?.unidentified).toMatch(/mediaSessionId/);
    expect(JSON.parse(String(raw?.body))).toEqual(body);
  });

  it.each([
    [
      'ConnectionStatusEvent',
      (s: WcsSession) => ({ ...wcs.connectionStatusBody(s, 'DISCONNECTED'), status: 7 }),
    ],
    ['DataStatusEvent', (s: WcsSession) => ({ ...s, status: 'ACCEPTED' })],
    ['StreamKeepAliveEvent', (s: WcsSession) => ({ ...s, status: 'PUBLISHING', name: 'k' })],
  ])('%s that cannot be identified is kept as a raw event, and says 200', async (method, bodyOf) => {
    const session = wcs.newSession();

    const reply = await wcs.send(method, bodyOf(session));

    expect(reply.status).toBe(200);
    expect((await rawEventsOf(session.sessionId)).map((e) => e.method)).toEqual([method]);
  });

  it('that is not a JSON object is kept as a raw event, and says 200 with the same body', async () => {
    const reply = await wcs.sendRaw('CallStatusEvent', '[1,2,3]');

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual([1, 2, 3]);
  });
});

describe('a request that is not a hook', () => {
  it('answers 404 for a path that is not a method name', async () => {
    const reply = await fetch(`${server.appUrl}/not.a.method`, { method: 'POST', body: '{}' });
    expect(reply.status).toBe(404);
    expect(await reply.json()).toMatchObject({ error: 'NotFound' });
  });

  it('answers 405 for a GET on a hook', async () => {
    const reply = await fetch(`${server.appUrl}/connect`);
    expect(reply.status).toBe(405);
  });

  it('keeps serving after all of the above', async () => {
    const reply = await wcs.send('connect', wcs.connectBody(wcs.newSession()));
    expect(reply.status).toBe(200);
  });
});
