/**
 * Bad input gets a clear 4xx with a JSON body saying what is wrong, and writes nothing: malformed
 * JSON, a wrong content type, an oversized body, missing or mistyped fields, junk paths.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { streamKey } from '../../shared/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';

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

  it('answers 400 for a JSON body that is not an object', async () => {
    const reply = await wcs.sendRaw('CallStatusEvent', '[1,2,3]');
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

describe('a hook with missing or mistyped fields', () => {
  it('answers 400 naming each bad field, and records no stream', async () => {
    const stream = wcs.newStream(wcs.newSession(), 'typed', true);
    const body = { ...wcs.streamBody(stream, 'PUBLISHING'), published: 'true', width: '640' };

    const reply = await wcs.send('StreamStatusEvent', body);

    expect(reply.status).toBe(400);
    expect(reply.json?.error).toBe('ValidationError');
    const fields = ((reply.json?.details ?? []) as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(['published', 'width']);
    expect(await getItem('streams', streamKey(stream))).toBeUndefined();
  });

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
