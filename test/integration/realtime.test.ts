/**
 * The realtime monitoring API, with `@stomp/stompjs` (what an operator's dashboard uses) against the
 * local runtime: STOMP over WebSocket at /ws, hooks becoming events on the right destinations as
 * DynamoDB's streams report the changes, OAM-style request/reply realms over STOMP and REST, bad
 * frames, refused connections, many subscribers, reconnection.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client, IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { refusedCounter } from '../../shared/state/counters.ts';
import { dynamo, tableNameOf } from '../../shared/store/dynamo.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { connectStomp, subscribe } from '../support/stomp.ts';
import { queryBy } from '../support/tables.ts';

const TOKEN = 'realtime-operator-token';
let server: RunningHookServer;
let wcs: FakeWcs;
const clients: Client[] = [];

/** Refusals of one app in one minute that raise an alarm, low for the test. */
const REFUSAL_ALARM_PER_MINUTE = 3;

beforeAll(async () => {
  server = await startHookServer(
    { API_TOKEN: TOKEN, REFUSAL_ALARM_PER_MINUTE: String(REFUSAL_ALARM_PER_MINUTE) },
    { realtime: true },
  );
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `rt-${randomUUID().slice(0, 6)}` });
});
afterAll(async () => {
  // Forced: a polite DISCONNECT waits for a RECEIPT, with no time limit, from a server being torn down.
  await Promise.all(clients.map((c) => c.deactivate({ force: true })));
  await server.close();
});

/** Connections recorded now (a test-only Scan of the connections table's state items). */
async function openConnectionCount(): Promise<number> {
  const { Count } = await dynamo.send(
    new ScanCommand({
      TableName: tableNameOf('connections'),
      FilterExpression: '#k = :state',
      ExpressionAttributeNames: { '#k': 'key' },
      ExpressionAttributeValues: { ':state': '#state' },
      Select: 'COUNT',
    }),
  );
  return Count ?? 0;
}

const wsUrl = (token = TOKEN) => `${server.baseUrl.replace('http', 'ws')}/ws?token=${token}`;

/** A connected STOMP client, closed after the file's tests. */
async function connectClient(): Promise<Client> {
  const client = await connectStomp(wsUrl());
  clients.push(client);
  return client;
}

async function eventually<T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bodies = (messages: IMessage[]) => messages.map((m) => JSON.parse(m.body) as Record<string, unknown>);

describe('a STOMP client', () => {
  it('sees a stream start and stop on /topic/streams and on its own topic, and a failure on /alarm', async () => {
    const client = await connectClient();
    const name = `cam-${randomUUID().slice(0, 6)}`;
    const all = await subscribe(client, '/topic/streams');
    const mine = await subscribe(client, `/topic/streams/${name}`);
    const alarms = await subscribe(client, '/alarm');
    const session = wcs.newSession();
    const stream = wcs.newStream(session, name, true);

    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
    await eventually(() => bodies(mine).find((b) => b.status === 'PUBLISHING'));
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'FAILED', { info: 'Failed by ICE error' }));

    const alarm = await eventually(() => bodies(alarms).find((b) => b.mediaId === stream.mediaSessionId));
    expect(alarm).toMatchObject({
      type: 'alarm',
      alarm: 'PUBLISHER_LOST',
      name,
      info: 'Failed by ICE error',
    });
    expect(bodies(mine).map((b) => b.status)).toEqual(['PUBLISHING', 'FAILED']);
    expect(
      bodies(all)
        .filter((b) => b.name === name)
        .map((b) => b.status),
    ).toEqual(['PUBLISHING', 'FAILED']);
    expect(mine[0]?.headers.destination).toBe(`/topic/streams/${name}`);
  });

  it('sees sessions come and go on /topic/sessions', async () => {
    const client = await connectClient();
    const sessions = await subscribe(client, '/topic/sessions');
    const session = wcs.newSession();

    await wcs.send('connect', wcs.connectBody(session));
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(session, 'DISCONNECTED'));

    await eventually(() =>
      bodies(sessions).find((b) => b.sessionId === session.sessionId && b.status === 'DISCONNECTED'),
    );
    expect(
      bodies(sessions)
        .filter((b) => b.sessionId === session.sessionId)
        .map((b) => b.status),
    ).toEqual(['PENDING', 'DISCONNECTED']);
  });

  it('asks stream/list on /app/api and gets the answer on /user/service, as OAM answers', async () => {
    const client = await connectClient();
    const replies = await subscribe(client, '/user/service');
    const stream = wcs.newStream(wcs.newSession(), `listed-${randomUUID().slice(0, 6)}`, true);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
    const requestId = randomUUID();

    client.publish({
      destination: '/app/api/stream/list',
      body: JSON.stringify({
        requestId,
        realm: '/api/stream/list',
        payload: { app: wcs.appKey, name: stream.name },
      }),
    });

    const reply = await eventually(() => bodies(replies).find((b) => b.requestId === requestId));
    expect(reply).toMatchObject({ status: 200, reason: 'SUCCESS' });
    expect(reply.payload).toEqual([
      expect.objectContaining({
        name: stream.name,
        mediaId: stream.mediaSessionId,
        status: 'PUBLISHING',
        publisher: true,
      }),
    ]);
  });

  it('gets a 400 with a reason for a bad request, and the connection stays up', async () => {
    const client = await connectClient();
    const replies = await subscribe(client, '/user/service');
    const requestId = randomUUID();

    client.publish({
      destination: '/app/api/stream/history',
      body: JSON.stringify({ requestId, realm: '/api/stream/history', payload: { limit: 0 } }),
    });

    const reply = await eventually(() => bodies(replies).find((b) => b.requestId === requestId));
    expect(reply).toMatchObject({ status: 400, reason: expect.stringContaining('limit') });
    expect(client.connected).toBe(true);
  });

  it('reconnects and subscribes again after the connection is lost', async () => {
    const client = await connectClient();
    await client.deactivate();
    await new Promise<void>((resolve) => {
      client.onConnect = () => resolve();
      client.activate();
    });
    const sessions = await subscribe(client, '/topic/sessions');
    const session = wcs.newSession();

    await wcs.send('connect', wcs.connectBody(session));

    await eventually(() => bodies(sessions).find((b) => b.sessionId === session.sessionId));
  });
});

describe('/alarm', () => {
  it(`raises REFUSALS_ABOVE_THRESHOLD once per app and minute when refusals cross ${REFUSAL_ALARM_PER_MINUTE}`, async () => {
    const client = await connectClient();
    const alarms = await subscribe(client, '/alarm');
    const appKey = `closed-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(appKey, { admission: 'closed' });
    const closedApp = new FakeWcs({ appUrl: server.appUrl, appKey });

    // Twice the threshold: whichever minute boundary falls in between, one minute crosses it.
    for (let i = 0; i < 2 * REFUSAL_ALARM_PER_MINUTE; i++) {
      const reply = await closedApp.send('connect', closedApp.connectBody(closedApp.newSession()));
      expect(reply.status).toBe(403);
    }

    const minutes = await queryBy('counters', 'counter', refusedCounter(appKey));
    expect(minutes.reduce((sum, m) => sum + Number(m.count), 0)).toBe(2 * REFUSAL_ALARM_PER_MINUTE);
    const crossed = minutes.filter((m) => Number(m.count) >= REFUSAL_ALARM_PER_MINUTE);
    const mine = () => bodies(alarms).filter((b) => b.app === appKey);
    await eventually(() => (mine().length >= crossed.length ? true : undefined));
    // Any late duplicate would arrive with the next stream poll.
    await new Promise((r) => setTimeout(r, 1000));
    expect(mine()).toEqual(
      crossed.map((m) =>
        expect.objectContaining({
          type: 'alarm',
          alarm: 'REFUSALS_ABOVE_THRESHOLD',
          minute: m.window,
          count: REFUSAL_ALARM_PER_MINUTE,
          threshold: REFUSAL_ALARM_PER_MINUTE,
          lastMethod: 'connect',
          lastReason: `app ${appKey} admits no client`,
        }),
      ),
    );
  });
});

describe('the fan-out', () => {
  it('removes a connection API Gateway no longer has (410 Gone), and no other', async () => {
    const live = await connectClient();
    const inbox = await subscribe(live, '/topic/sessions');
    // What a lost $disconnect leaves behind: the items of a connection the API no longer has.
    const stale = `stale-${randomUUID().slice(0, 8)}`;
    const connections = tableNameOf('connections');
    await dynamo.send(
      new PutCommand({
        TableName: connections,
        Item: { connectionId: stale, key: '#state', state: {}, version: 0 },
      }),
    );
    await dynamo.send(
      new PutCommand({
        TableName: connections,
        Item: { connectionId: stale, key: 'sub#1', subscriptionId: '1', destination: '/topic/sessions' },
      }),
    );
    const session = wcs.newSession();

    await wcs.send('connect', wcs.connectBody(session));

    await eventually(() => bodies(inbox).find((b) => b.sessionId === session.sessionId));
    const staleLeft = async () => (await queryBy('connections', 'connectionId', stale)).length;
    const deadline = Date.now() + 10_000;
    while ((await staleLeft()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await staleLeft()).toBe(0);
    // The live connection was kept: it still receives.
    const next = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(next));
    await eventually(() => bodies(inbox).find((b) => b.sessionId === next.sessionId));
  });
});

describe('many subscribers', () => {
  it('each receive the change', async () => {
    const many = await Promise.all(Array.from({ length: 8 }, connectClient));
    const inboxes = await Promise.all(many.map((c) => subscribe(c, '/topic/sessions')));
    const session = wcs.newSession();

    await wcs.send('connect', wcs.connectBody(session));

    for (const inbox of inboxes)
      await eventually(() => bodies(inbox).find((b) => b.sessionId === session.sessionId));
  });
});

describe('the WebSocket endpoint', () => {
  it('refuses a connection without the token', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl('wrong'));
      ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  it('leaves nothing behind of a client that leaves while its connection is being admitted', async () => {
    const openedBefore = await openConnectionCount();
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end(
      `GET /ws?token=${TOKEN} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    socket.destroy();

    // $connect records the connection; whatever the moment the client left, $disconnect removes it.
    // The server learns of the upgrade a moment later: give it that moment before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const deadline = Date.now() + 5000;
    while ((await openConnectionCount()) !== openedBefore && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(await openConnectionCount()).toBe(openedBefore);
  });

  it('answers a bad frame with ERROR and closes the connection, as STOMP requires', async () => {
    const ws = new WebSocket(wsUrl());
    await new Promise((resolve) => ws.on('open', resolve));
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));
    const closed = new Promise((resolve) => ws.on('close', resolve));

    ws.send('CONNECT\naccept-version:1.2\nhost:h\n\n\0HELLO\n\n\0');

    await closed;
    expect(received.join('')).toMatch(/^CONNECTED\n/);
    expect(received.join('')).toMatch(/ERROR\n(.*\n)*message:unknown command HELLO/);
  });

  it('handles a frame split over several messages', async () => {
    const ws = new WebSocket(wsUrl());
    await new Promise((resolve) => ws.on('open', resolve));
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));

    for (const part of ['CONN', 'ECT\naccept-vers', 'ion:1.2\nhost:h\n', '\n\0']) ws.send(part);

    await eventually(() => (received.join('').startsWith('CONNECTED') ? true : undefined));
    ws.close();
  });
});

describe('the REST realms', () => {
  it('answer POST /api/metric/list as OAM answers, with the bearer token', async () => {
    const response = await fetch(`${server.baseUrl}/api/metric/list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: '{}',
    });
    const body = (await response.json()) as { status: number; payload: { enumName: string }[] };
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ status: 200, reason: 'SUCCESS' });
    expect(body.payload.map((m) => m.enumName)).toContain('VIDEO_RATE');
  });

  it('answer stream/list without an app with the live streams of every app, those without a policy included', async () => {
    // `wcs`'s app and defaultApp have no stored policy; a third app has one.
    const withPolicy = new FakeWcs({
      appUrl: server.appUrl,
      appKey: `rt-policy-${randomUUID().slice(0, 6)}`,
    });
    await putAppPolicy(withPolicy.appKey, { admission: 'open' });
    const plain = new FakeWcs({ appUrl: server.appUrl, appKey: 'defaultApp' });
    // One name in the three apps: the list is asked by name (and not of every stream of every test
    // file, which is paged, 100 a page).
    const name = `every-app-${randomUUID().slice(0, 6)}`;
    const streams = [wcs, withPolicy, plain].map((node) => {
      const stream = node.newStream(node.newSession(), name, true);
      return { node, stream };
    });
    for (const { node, stream } of streams)
      expect((await node.send('StreamStatusEvent', node.streamBody(stream, 'PUBLISHING'))).status).toBe(200);

    const response = await fetch(`${server.baseUrl}/api/stream/list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name }),
    });
    const body = (await response.json()) as { payload: { mediaId: string; app: string }[] };

    expect(response.status).toBe(200);
    for (const { node, stream } of streams) {
      expect(body.payload).toContainEqual(
        expect.objectContaining({ mediaId: stream.mediaSessionId, app: node.appKey }),
      );
    }
  });

  it('answer a session/history for an unknown session with 400 Object not found', async () => {
    const response = await fetch(`${server.baseUrl}/api/session/history`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ sessionId: 'nobody' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ status: 400, reason: 'Object not found' });
  });
});
