import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ConflictProxy, startConflictProxy } from '../support/conflict-proxy.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { connectStomp, subscribe } from '../support/stomp.ts';

const TOKEN = 'idle-token';
let proxy: ConflictProxy;
let server: RunningHookServer;
const STREAMS = /^DynamoDBStreams_/;

beforeAll(async () => {
  // Tables of its own: no node from another test file for the poller to poll.
  await useOwnTables('idle');
  proxy = await startConflictProxy(process.env.DYNAMODB_ENDPOINT as string);
  server = await startHookServer(
    { API_TOKEN: TOKEN, DYNAMODB_ENDPOINT: proxy.endpoint },
    { realtime: true, sender: true, poller: true },
  );
}, 60_000);
afterAll(async () => {
  await server.close();
  await proxy.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an idle local runtime', () => {
  it('makes no request for the streams, and about one request a second at most', async () => {
    await sleep(4_000); // past the queue consumer's first, closer polls
    const from = proxy.targets.length;
    await sleep(6_000);
    const idle = proxy.targets.slice(from);
    expect(idle.filter((t) => STREAMS.test(t))).toEqual([]);
    expect(idle.length).toBeLessThanOrEqual(6);
  }, 30_000);

  it('tails the streams once a realtime client connects, and tells it of a change', async () => {
    const client = await connectStomp(`${server.baseUrl.replace('http', 'ws')}/ws?token=${TOKEN}`);
    try {
      const received = await subscribe(client, '/topic/sessions');
      const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'idle' });
      const session = wcs.newSession();
      await wcs.send('connect', wcs.connectBody(session));
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
        if (received.some((m) => m.body.includes(session.sessionId))) break;
      }
      expect(received.map((m) => JSON.parse(m.body).sessionId)).toContain(session.sessionId);
      expect(proxy.targets.some((t) => STREAMS.test(t))).toBe(true);
    } finally {
      await client.deactivate({ force: true });
    }
  }, 40_000);
});
