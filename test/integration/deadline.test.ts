/**
 * A deadline for every decision: with a DynamoDB that does not answer (or refuses connections),
 * each decision hook still answers, by its documented fail mode (shared/http/fail-modes.ts): connect and
 * publishStream refuse, playStream, OnDataEvent and StreamKeepAliveEvent admit.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

/** A TCP server that accepts connections and never says a word: a DynamoDB that hangs. It counts what it is sent. */
async function startBlackHole(): Promise<{ port: number; received: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let bytes = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received: () => bytes,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let blackHole: Awaited<ReturnType<typeof startBlackHole>>;
let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  blackHole = await startBlackHole();
  server = await startHookServer({
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${blackHole.port}`,
    DECISION_BUDGET_MS: '300',
    EVENT_BUDGET_MS: '300',
    // Long enough to outlast the test: once open, the breaker stays open.
    SPILL_BREAKER_MS: '600000',
    SPILL_DIR: mkdtempSync(join(tmpdir(), 'deadline-spill-')),
  });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'deadline' });
});
afterAll(async () => {
  await server.close();
  await blackHole.close();
});

describe('with a DynamoDB that does not answer', () => {
  it('refuses connect: an unverified client must not get in', async () => {
    const reply = await wcs.send('connect', wcs.connectBody(wcs.newSession()));

    expect(reply.status).toBe(403);
    expect(reply.json).toMatchObject({
      error: 'Forbidden',
      message: 'admission unavailable (deadline); this hook fails closed',
    });
  });

  it('refuses publishStream: one publisher per name cannot be checked', async () => {
    const reply = await wcs.send(
      'publishStream',
      wcs.streamBody(wcs.newStream(wcs.newSession(), 'n', true), 'PENDING'),
    );
    expect(reply.status).toBe(403);
  });

  it.each([
    ['playStream', () => wcs.streamBody(wcs.newStream(wcs.newSession(), 'n', false), 'PENDING')],
    ['OnDataEvent', () => wcs.dataBody(wcs.newSession(), { a: 1 })],
    ['StreamKeepAliveEvent', () => wcs.streamBody(wcs.newStream(wcs.newSession(), 'n', true), 'PUBLISHING')],
  ])('admits %s, mirroring the body', async (method, body) => {
    const sent = body();
    const reply = await wcs.send(method, sent);

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(sent);
  });
});

describe('once DynamoDB has failed (the breaker is open)', () => {
  it('answers decisions by their fail mode and spills events at once, asking DynamoDB nothing', async () => {
    // The tests above have tripped the breaker; nothing more reaches the hanging DynamoDB.
    const before = blackHole.received();
    const session = wcs.newSession();
    const stream = wcs.newStream(session, 'n', true);

    const replies = [
      await wcs.send('connect', wcs.connectBody(session)),
      await wcs.send('playStream', wcs.streamBody(wcs.newStream(session, 'n', false), 'PENDING')),
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING')),
      await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED')),
    ];

    expect(replies.map((r) => r.status)).toEqual([403, 200, 200, 200]);
    expect(replies[0]?.json?.message).toBe('admission unavailable (breaker); this hook fails closed');
    expect(blackHole.received()).toBe(before);
  });
});

describe('with a DynamoDB that refuses connections', () => {
  let refusing: RunningHookServer;

  beforeAll(async () => {
    // A port that was just free: nothing listens there.
    const probe = await startBlackHole();
    await probe.close();
    refusing = await startHookServer({
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${probe.port}`,
      DECISION_BUDGET_MS: '2000',
    });
  });
  afterAll(() => refusing.close());

  it('answers each decision hook by its fail mode', async () => {
    const node = new FakeWcs({ appUrl: refusing.appUrl, appKey: 'refused' });
    const connect = await node.send('connect', node.connectBody(node.newSession()));
    const play = await node.send(
      'playStream',
      node.streamBody(node.newStream(node.newSession(), 'n', false), 'PENDING'),
    );

    expect(connect.status).toBe(403);
    expect(connect.json?.message).toMatch(/admission unavailable/);
    expect(play.status).toBe(200);
  });
});
