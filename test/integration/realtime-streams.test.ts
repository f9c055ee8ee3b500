/**
 * The realtime API's DynamoDB-stream consumer (`functions/realtime-streams.ts`) loses no change: a
 * change it cannot push (the management API fails for a subscriber) is reported as a partial batch
 * failure, with the changes after it, so the stream delivers them again; the ones before it are not
 * reported, so they are not pushed twice.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { openConnection, subscribersOf, subscriptionKeyOf } from '../../shared/realtime/connections.ts';
import { fanOut, type Push, type TableChange } from '../../shared/realtime/fanout.ts';
import { MAX_FRAME_BYTES } from '../../shared/realtime/stomp/codec.ts';
import { handleMessage } from '../../shared/realtime/stomp-connection.ts';
import { STREAMED_TABLES, streamedTableEnv, TABLES } from '../../shared/store/tables.ts';

let management: Server;
const received: { connectionId: string; body: string }[] = [];
const BROKEN = `broken-${randomUUID()}`;

beforeAll(async () => {
  // The WebSocket management API: posts to one connection fail with a 500, the others are taken.
  management = createServer((request, response) => {
    const connectionId = decodeURIComponent(String(request.url).split('/').pop() ?? '');
    let body = '';
    request.on('data', (c) => {
      body += c;
    });
    request.on('end', () => {
      if (connectionId === BROKEN) return response.writeHead(500).end('{"message":"Internal server error"}');
      received.push({ connectionId, body });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', resolve));
  process.env.REALTIME_ENDPOINT = `http://127.0.0.1:${(management.address() as { port: number }).port}`;
  for (const table of STREAMED_TABLES)
    process.env[streamedTableEnv(table)] = process.env[TABLES[table].envVar];
});
afterAll(() => new Promise<void>((resolve) => management.close(() => resolve())));

async function subscribed(connectionId: string, destination: string) {
  await openConnection(connectionId, 'test');
  await handleMessage(connectionId, 'CONNECT\naccept-version:1.2\nhost:h\n\n\0');
  await handleMessage(connectionId, `SUBSCRIBE\nid:s\ndestination:${destination}\n\n\0`);
}

/** The sessionIds of the STOMP frames one WebSocket message carries (one or more, each ending in NUL). */
const sessionIdsOf = (message: string): string[] =>
  message
    .split('\0')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => JSON.parse(frame.slice(frame.indexOf('\n\n') + 2)).sessionId);

const record = (table: 'sessions' | 'streams', sequence: string, item: Record<string, unknown>) => ({
  eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${process.env[TABLES[table].envVar]}/stream/x`,
  dynamodb: { SequenceNumber: sequence, NewImage: marshall(item) as never },
});

describe('the realtime stream consumer', () => {
  it('reports the first change it could not push, and only from there, as a partial batch failure', async () => {
    const ok = `ok-${randomUUID()}`;
    await subscribed(ok, '/topic/sessions');
    const name = `consumer-${randomUUID().slice(0, 6)}`;
    await subscribed(BROKEN, `/topic/streams/${name}`);
    const { handler } = await import('../../functions/realtime-streams.ts');
    const event = {
      Records: [
        record('sessions', '100', { sessionId: 'a', status: 'ESTABLISHED', appKey: 'x' }),
        record('streams', '200', {
          sessionId: 'b',
          mediaSessionId: 'm',
          name,
          status: 'PUBLISHING',
          appKey: 'x',
        }),
        record('sessions', '300', { sessionId: 'c', status: 'ESTABLISHED', appKey: 'x' }),
      ],
    } as unknown as DynamoDBStreamEvent;

    const response = await handler(event);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
    const mine = received.filter((r) => r.connectionId === ok).flatMap((r) => sessionIdsOf(r.body));
    // Its changes, `a` and `c`, in one message: it took it, so only the change from 200 on is retried,
    // which brings it `c` again: twice, never lost.
    expect(mine).toEqual(['a', 'c']);
  });
});

describe('the fan-out', () => {
  const sessionChange = (sessionId: string): TableChange => ({
    table: 'sessions',
    newImage: { sessionId, status: 'ESTABLISHED', appKey: 'x' },
  });

  it('pushes to subscribers in parallel, each its changes in order, and a gone one holds up nobody', async () => {
    // The sessions topic is shared with the other tests: only this test's subscribers are counted.
    const ids = Array.from({ length: 100 }, (_, i) => `fan-${i}-${randomUUID().slice(0, 6)}`);
    for (const id of ids) await subscribed(id, '/topic/sessions');
    const mine = new Set(ids);
    const gone = ids[7] as string;
    const got = new Map<string, string[]>();
    const posts = new Map<string, number>();
    let inFlight = 0;
    let mostInFlight = 0;
    const push: Push = async (connectionId, frame) => {
      if (!mine.has(connectionId)) return 'sent';
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      if (connectionId === gone) return 'gone';
      got.set(connectionId, [...(got.get(connectionId) ?? []), ...sessionIdsOf(frame)]);
      posts.set(connectionId, (posts.get(connectionId) ?? 0) + 1);
      return 'sent';
    };

    const result = await fanOut(['1', '2', '3'].map(sessionChange), push, 32);

    expect(mostInFlight).toBe(32);
    // The three changes in one post to each.
    expect(new Set(posts.values())).toEqual(new Set([1]));
    expect(result.failedAt).toBeUndefined();
    for (const id of ids.filter((i) => i !== gone)) expect([id, got.get(id)]).toEqual([id, ['1', '2', '3']]);
    // Gone at its first push: removed, and asked nothing more.
    expect(got.get(gone)).toBeUndefined();
    expect(await subscribersOf(subscriptionKeyOf('/topic/sessions'))).not.toContainEqual(
      expect.objectContaining({ connectionId: gone }),
    );
  });

  it('reports the first change a subscriber could not take; the others still get theirs in order', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `fail-${i}-${randomUUID().slice(0, 6)}`);
    for (const id of ids) await subscribed(id, '/topic/sessions');
    const mine = new Set(ids);
    const broken = ids[2] as string;
    const got = new Map<string, string[]>();
    const push: Push = async (connectionId, message) => {
      if (!mine.has(connectionId)) return 'sent';
      if (connectionId === broken) throw new Error('500 from the management API');
      got.set(connectionId, [...(got.get(connectionId) ?? []), ...sessionIdsOf(message)]);
      return 'sent';
    };

    const result = await fanOut(['1', '2', '3'].map(sessionChange), push, 32);

    // Its one message carried all three: all three are retried.
    expect(result).toMatchObject({
      failedAt: 0,
      error: expect.objectContaining({ message: '500 from the management API' }),
    });
    expect(got.get(broken)).toBeUndefined();
    for (const id of ids.filter((i) => i !== broken))
      expect([id, got.get(id)]).toEqual([id, ['1', '2', '3']]);
  });

  it('splits what a subscriber gets into messages of at most 128 KiB, in order', async () => {
    const id = `big-${randomUUID().slice(0, 6)}`;
    await subscribed(id, '/topic/sessions');
    const messages: string[] = [];
    const push: Push = async (connectionId, message) => {
      if (connectionId === id) messages.push(message);
      return 'sent';
    };
    // 40 changes of ~10 KB each: about 400 KB for the subscriber.
    const changes = Array.from({ length: 40 }, (_, i) => ({
      table: 'sessions' as const,
      newImage: { sessionId: String(i), status: 'ESTABLISHED', appKey: 'x', info: 'x'.repeat(10_000) },
    }));

    await fanOut(changes, push, 32);

    expect(messages.length).toBeGreaterThan(3);
    for (const message of messages) expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(messages.flatMap(sessionIdsOf)).toEqual(changes.map((c) => c.newImage.sessionId));
  });
});
