/**
 * `rest_hook_send_hash` (reference §0.2): with a secret configured, a hook is accepted only with
 * `Authorization: WCS <hex HMAC-MD5 of the raw body>` under one of the secrets, checked before the
 * body is parsed; otherwise 403 and nothing written. Two secrets at once allow rotation.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';

let server: RunningHookServer;

beforeAll(async () => {
  // Rotation in progress: the new secret and the old one are both accepted.
  server = await startHookServer({ WCS_HOOK_SECRET: 'new-secret-2026, old-secret-1234' });
});
afterAll(() => server.close());

const wcsWith = (secret?: string) =>
  new FakeWcs({ appUrl: server.appUrl, appKey: 'signed', ...(secret !== undefined && { secret }) });

describe('a signed hook', () => {
  it('is accepted under the new secret', async () => {
    const wcs = wcsWith('new-secret-2026');
    const session = wcs.newSession();

    const reply = await wcs.send('connect', wcs.connectBody(session));

    expect(reply.status).toBe(200);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeDefined();
  });

  it('is accepted under the old secret while the rotation lasts', async () => {
    const wcs = wcsWith('old-secret-1234');
    const session = wcs.newSession();

    const reply = await wcs.send('connect', wcs.connectBody(session));

    expect(reply.status).toBe(200);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeDefined();
  });

  it('is checked on the exact bytes, whitespace and key order included', async () => {
    const wcs = wcsWith('new-secret-2026');
    const session = wcs.newSession();
    const raw = `{\n  "sessionId" : "${session.sessionId}",\n  "appKey":"signed", "nodeId":"${wcs.nodeId}"\n}`;

    const reply = await wcs.sendRaw('connect', raw);

    expect(reply.status).toBe(200);
  });
});

describe('a hook that is not correctly signed', () => {
  it('answers 403 under a secret not configured, and writes nothing', async () => {
    const wcs = wcsWith('retired-secret');
    const session = wcs.newSession();

    const reply = await wcs.send('connect', wcs.connectBody(session));

    expect(reply.status).toBe(403);
    expect(reply.json).toMatchObject({ error: 'SignatureMismatch' });
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });

  it('answers 403 without an Authorization header', async () => {
    const wcs = wcsWith();
    const session = wcs.newSession();

    const reply = await wcs.send('connect', wcs.connectBody(session));

    expect(reply.status).toBe(403);
    expect(reply.json?.message).toMatch(/missing/);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });

  it('answers 403 when the body was changed after signing', async () => {
    const wcs = wcsWith('new-secret-2026');
    const session = wcs.newSession();
    const signed = JSON.stringify(wcs.connectBody(session));
    const tampered = signed.replace('"signed"', '"other"');

    const reply = await wcs.sendRaw('connect', tampered, { authorization: wcs.sign(signed) });

    expect(reply.status).toBe(403);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toBeUndefined();
  });

  it('answers 403, not 400, for a malformed body without a valid signature: nothing is parsed first', async () => {
    const wcs = wcsWith('retired-secret');
    const reply = await wcs.sendRaw('StreamStatusEvent', '{not json');
    expect(reply.status).toBe(403);
  });

  it('answers 403 for a signature with the wrong scheme', async () => {
    const wcs = wcsWith('new-secret-2026');
    const body = JSON.stringify(wcs.connectBody(wcs.newSession()));
    const hex = wcs.sign(body)?.slice(4);

    const reply = await wcs.sendRaw('connect', body, { authorization: `Bearer ${hex}` });

    expect(reply.status).toBe(403);
  });
});
