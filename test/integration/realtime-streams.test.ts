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
import { openConnection } from '../../shared/realtime/connections.ts';
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
    const mine = received
      .filter((r) => r.connectionId === ok)
      .map((r) => JSON.parse(r.body.split('\n\n')[1]?.replace(/\0$/, '') ?? '{}').sessionId);
    expect(mine).toEqual(['a']);
  });
});
