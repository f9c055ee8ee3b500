/**
 * What meveo's endpoints do that the first endpoints did not, through the local runtime's stand-in
 * for API Gateway's WebSocket API with plain WebSocket clients: the logic sees the connection's
 * query string (but the token) and the headers its endpoint forwards, on `open` and on every later
 * event; messages to a user who is offline are kept (per endpoint: a TTL and a cap) and delivered
 * in order, once, when the user connects.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { endpointsApi } from '../support/endpoints-api.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { HS256_SECRET } from '../support/tokens.ts';
import { openSocket, type SocketClient } from '../support/ws-client.ts';

const API_TOKEN = 'operator-token-for-endpoint-meveo-tests';
const app = `meveo-${randomUUID().slice(0, 8)}`;
let server: RunningHookServer;
const sockets: SocketClient[] = [];

/** Records every event it gets; answers a message with what it sees of the session. */
const LOGIC = `
export async function handler(event) {
  (globalThis.meveoEvents ??= []).push(event);
  if (event.event !== 'message') return {};
  return { reply: JSON.stringify({ query: event.session.query, headers: event.session.headers }) };
}
`;

const api = endpointsApi(() => server.baseUrl, API_TOKEN);

/** A new endpoint `<prefix>-<random>` of the module logic, with `definition` besides. */
async function newEndpoint(prefix: string, definition: Record<string, unknown> = {}): Promise<string> {
  const code = `${prefix}-${randomUUID().slice(0, 6)}`;
  const answer = await api('PUT', `/${code}`, {
    appKey: app,
    logic: { kind: 'module', path: 'logic.mjs' },
    ...definition,
  });
  expect(answer).toMatchObject({ status: 200 });
  return code;
}

const tokenFor = (user: string) => issueClientToken(HS256_SECRET, { sub: user, aud: app }, 600);

async function join(
  code: string,
  user: string,
  { query = '', headers = {} }: { query?: string; headers?: Record<string, string> } = {},
): Promise<SocketClient> {
  const socket = await openSocket(
    `${server.baseUrl.replace('http', 'ws')}/ws/${code}?token=${await tokenFor(user)}${query}`,
    headers,
  );
  sockets.push(socket);
  return socket;
}

const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const eventsOf = (code: string) =>
  ((globalThis as { meveoEvents?: Record<string, unknown>[] }).meveoEvents ?? []).filter(
    (e) => e.endpoint === code,
  );

beforeAll(async () => {
  const moduleDir = mkdtempSync(joinPath(tmpdir(), 'endpoint-meveo-'));
  writeFileSync(joinPath(moduleDir, 'logic.mjs'), LOGIC);
  server = await startHookServer(
    { API_TOKEN, ENDPOINT_MODULE_DIR: moduleDir },
    { endpoints: true, sender: true },
  );
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET, playRequiresGrant: false });
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await server.close();
});

describe("the connection's query string and chosen headers", () => {
  it('reach the logic on open and on every later event, without the token and only the headers the endpoint forwards', async () => {
    const code = await newEndpoint('parts', { forwardHeaders: ['user-agent', 'x-forwarded-for'] });
    const ann = await join(code, 'ann', {
      query: '&room=blue&lang=fr',
      headers: {
        'User-Agent': 'test-agent/1.0',
        'X-Forwarded-For': '203.0.113.9',
        'X-Secret-Header': 'not for the logic',
        Cookie: 'session=abc',
      },
    });
    const expected = {
      query: { room: 'blue', lang: 'fr' },
      headers: { 'user-agent': 'test-agent/1.0', 'x-forwarded-for': '203.0.113.9' },
    };

    ann.send('who am I');
    const seen = JSON.parse(await ann.next()) as unknown;
    await ann.close();
    await until(() => eventsOf(code).some((e) => e.event === 'close'));

    expect(seen).toEqual(expected);
    const events = eventsOf(code);
    expect(events.map((e) => e.event)).toEqual(['open', 'message', 'close']);
    for (const event of events) expect(event.session).toMatchObject(expected);
  });

  it('are none but the query when the endpoint forwards no header', async () => {
    const code = await newEndpoint('noheaders');
    const ben = await join(code, 'ben', { headers: { 'user-agent': 'test-agent/1.0' } });

    ben.send('who am I');

    expect(JSON.parse(await ben.next())).toEqual({ query: {}, headers: {} });
  });

  it('never include authorization or cookie: a definition naming them is refused with the reason', async () => {
    const answer = await api('PUT', `/bad-${randomUUID().slice(0, 6)}`, {
      appKey: app,
      logic: { kind: 'builtin', name: 'echo' },
      forwardHeaders: ['authorization', 'Cookie'],
    });

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('never authorization, cookie, proxy-authorization');
    expect(JSON.stringify(answer.body)).toContain('a header name in lower case');
  });
});

describe('messages to a user who is offline', () => {
  const send = (code: string, user: string, text: string) => api('POST', `/${code}/messages`, { user, text });
  const recordsOf = async (code: string, user: string) =>
    (await api('GET', `/${code}/messages?user=${user}`)).body as unknown as Record<string, unknown>[];
  /** The records of `texts`, in that order. */
  const recordsFor = async (code: string, user: string, texts: string[]) => {
    const records = await recordsOf(code, user);
    return texts.map((text) => records.find((r) => r.text === text));
  };

  it('are kept, and delivered once, oldest first, when the user connects; then recorded DELIVERED', async () => {
    const code = await newEndpoint('keep', { keepOffline: { ttlSeconds: 3600, maxMessages: 10 } });
    const texts = ['first', 'second', 'third'];
    for (const text of texts)
      expect((await send(code, 'cleo', text)).body).toMatchObject({ outcome: 'KEPT' });

    const cleo = await join(code, 'cleo');
    for (const text of texts) expect(await cleo.next()).toBe(text);
    await until(async () => (await recordsFor(code, 'cleo', texts)).every((r) => r?.outcome === 'DELIVERED'));
    // Connecting again does not deliver them again.
    const second = await join(code, 'cleo');
    await cleo.close();
    expect((await send(code, 'cleo', 'while online')).body).toMatchObject({ outcome: 'SENT', sent: 1 });

    expect(await second.next()).toBe('while online');
    expect(second.received).toEqual(['while online']);
    const records = await recordsFor(code, 'cleo', texts);
    for (const record of records)
      expect(record).toMatchObject({ outcome: 'DELIVERED', deliveredTo: expect.any(String) });
  });

  it('go each to one connection only when the user opens two at once, in order on each', async () => {
    const code = await newEndpoint('twice', { keepOffline: { ttlSeconds: 3600, maxMessages: 50 } });
    const texts = Array.from({ length: 8 }, (_, i) => `kept ${i}`);
    for (const text of texts) await send(code, 'hal', text);

    const tabs = await Promise.all([join(code, 'hal'), join(code, 'hal')]);
    await until(async () => (await recordsFor(code, 'hal', texts)).every((r) => r?.outcome === 'DELIVERED'));
    await Promise.all(tabs.map((tab) => tab.close()));

    const received = tabs.flatMap((tab) => tab.received);
    expect([...received].sort()).toEqual([...texts].sort());
    for (const tab of tabs) expect(tab.received).toEqual([...tab.received].sort());
  });

  it('are kept at most maxMessages per user: the oldest is dropped for a newer one, and recorded DROPPED', async () => {
    const code = await newEndpoint('cap', { keepOffline: { ttlSeconds: 3600, maxMessages: 2 } });
    for (const text of ['one', 'two', 'three']) await send(code, 'dan', text);

    expect(await recordsFor(code, 'dan', ['one', 'two', 'three'])).toEqual([
      expect.objectContaining({ outcome: 'DROPPED', reason: expect.stringContaining('maxMessages (2)') }),
      expect.objectContaining({ outcome: 'KEPT' }),
      expect.objectContaining({ outcome: 'KEPT' }),
    ]);
    const dan = await join(code, 'dan');
    expect(await dan.next()).toBe('two');
    expect(await dan.next()).toBe('three');
  });

  it('are not delivered once their TTL has passed, and are recorded EXPIRED', async () => {
    const code = await newEndpoint('ttl', { keepOffline: { ttlSeconds: 1, maxMessages: 10 } });
    await send(code, 'eve', 'stale');
    await new Promise((r) => setTimeout(r, 1500)); // past its TTL of 1 s
    await api('PUT', `/${code}`, {
      appKey: app,
      logic: { kind: 'module', path: 'logic.mjs' },
      keepOffline: { ttlSeconds: 3600, maxMessages: 10 },
    });
    await send(code, 'eve', 'fresh');

    const eve = await join(code, 'eve');

    expect(await eve.next()).toBe('fresh');
    await until(async () => (await recordsFor(code, 'eve', ['stale']))[0]?.outcome === 'EXPIRED');
    expect(eve.received).toEqual(['fresh']);
  });

  it('are not kept by an endpoint without keepOffline, nor for a broadcast: recorded NOBODY', async () => {
    const code = await newEndpoint('nokeep');
    expect((await send(code, 'fay', 'lost')).body).toMatchObject({ outcome: 'NOBODY' });
    const keeping = await newEndpoint('keepcast', { keepOffline: { ttlSeconds: 3600, maxMessages: 10 } });
    expect((await api('POST', `/${keeping}/messages`, { text: 'to all' })).body).toMatchObject({
      outcome: 'NOBODY',
    });

    const fay = await join(code, 'fay');
    const gil = await join(keeping, 'gil');
    fay.send('who am I');
    gil.send('who am I');

    // Each gets its answer first: nothing kept came before it.
    expect(JSON.parse(await fay.next())).toMatchObject({ query: {} });
    expect(JSON.parse(await gil.next())).toMatchObject({ query: {} });
  });
});
