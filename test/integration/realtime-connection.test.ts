/**
 * One WebSocket message of a realtime connection as API Gateway's `$default` hands it to a Lambda
 * function (`handleMessage`), against DynamoDB Local: what is stored between messages, and what
 * happens when API Gateway runs two messages of one connection at once, or one of a closed connection.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { loadConnection, openConnection, removeConnection } from '../../shared/realtime/connections.ts';
import { MAX_FRAME_BYTES } from '../../shared/realtime/stomp/codec.ts';
import { handleMessage, MAX_FRAME_PARTS } from '../../shared/realtime/stomp-connection.ts';
import { queryBy } from '../support/tables.ts';

const CONNECT = 'CONNECT\naccept-version:1.2\nhost:h\n\n\0';
const subscribe = (id: string, destination = '/topic/sessions') =>
  `SUBSCRIBE\nid:${id}\ndestination:${destination}\n\n\0`;

/** A connection as `$connect` leaves it, with CONNECT handled. */
async function connected(): Promise<string> {
  const connectionId = `c-${randomUUID()}`;
  await openConnection(connectionId, 'test');
  const { replies } = await handleMessage(connectionId, CONNECT);
  expect(replies[0]).toMatch(/^CONNECTED\n/);
  return connectionId;
}

const subscriptionItems = async (connectionId: string) =>
  (await queryBy('connections', 'connectionId', connectionId)).filter((i) =>
    String(i.key).startsWith('sub#'),
  );

describe('a message of a realtime connection', () => {
  it('keeps the start of a split frame with the connection, and completes it with the next message', async () => {
    const connectionId = await connected();

    expect(await handleMessage(connectionId, 'SUBSCRIBE\nid:a\ndesti')).toEqual({
      replies: [],
      close: false,
    });
    expect(new TextDecoder().decode((await loadConnection(connectionId))?.pending)).toBe(
      'SUBSCRIBE\nid:a\ndesti',
    );
    const { replies } = await handleMessage(connectionId, 'nation:/alarm\nreceipt:r1\n\n\0');

    expect(replies).toEqual(['RECEIPT\nreceipt-id:r1\n\n\0']);
    const stored = await loadConnection(connectionId);
    expect(stored?.state.subscriptions).toEqual({ a: '/alarm' });
    expect(stored?.pending).toHaveLength(0);
    expect((await subscriptionItems(connectionId)).map((i) => i.destination)).toEqual(['/alarm']);
  });

  it('loses no subscription when API Gateway runs many messages of one connection at once', async () => {
    const connectionId = await connected();
    const ids = Array.from({ length: 12 }, (_, i) => `s${i}`);

    await Promise.all(ids.map((id) => handleMessage(connectionId, subscribe(id))));

    const stored = await loadConnection(connectionId);
    expect(Object.keys(stored?.state.subscriptions ?? {}).sort()).toEqual([...ids].sort());
    expect((await subscriptionItems(connectionId)).map((i) => i.subscriptionId).sort()).toEqual(
      [...ids].sort(),
    );
    // CONNECT and each SUBSCRIBE were saved once: nothing overwritten, nothing saved twice.
    expect(stored?.version).toBe(1 + ids.length);
  });

  it('writes nothing for a heart-beat', async () => {
    const connectionId = await connected();
    const before = await loadConnection(connectionId);

    expect(await handleMessage(connectionId, '\n')).toEqual({ replies: [], close: false });

    expect((await loadConnection(connectionId))?.version).toBe(before?.version);
  });

  it('answers ERROR and closes for a connection that has closed, and stores nothing for it', async () => {
    const connectionId = await connected();
    await removeConnection(connectionId);

    const { replies, close } = await handleMessage(connectionId, subscribe('late'));

    expect(close).toBe(true);
    expect(replies[0]).toMatch(/^ERROR\n(.*\n)*message:unknown connection/);
    expect(await queryBy('connections', 'connectionId', connectionId)).toEqual([]);
  });

  it(`answers ERROR and closes for an unfinished frame past ${MAX_FRAME_BYTES} bytes`, async () => {
    const connectionId = await connected();
    await handleMessage(connectionId, `SEND\ndestination:/app/api/x\n\n${'a'.repeat(MAX_FRAME_BYTES - 64)}`);

    const { replies, close } = await handleMessage(connectionId, 'b'.repeat(128));

    expect(close).toBe(true);
    expect(replies[0]).toMatch(/^ERROR\n(.*\n)*message:a frame of more than/);
  });

  it(`refuses a frame split over more than ${MAX_FRAME_PARTS} messages, and takes one split in 8 KB chunks`, async () => {
    const chunked = await connected();
    await handleMessage(chunked, subscribe('replies', '/user/service'));
    const frame = `SEND\ndestination:/app/api/metric/list\ncontent-type:application/json\n\n${JSON.stringify({ requestId: 'r', realm: '/api/metric/list', payload: { pad: 'p'.repeat(100_000) } })}\0`;
    let last: Awaited<ReturnType<typeof handleMessage>> | undefined;
    for (let i = 0; i < frame.length; i += 8192)
      last = await handleMessage(chunked, frame.slice(i, i + 8192));
    expect(last?.close).toBe(false);
    expect(last?.replies[0]).toMatch(/^MESSAGE\n/);

    const trickled = await connected();
    const small = subscribe('t', '/alarm').repeat(200);
    const replies = [];
    for (const byte of small.slice(0, 40)) {
      const result = await handleMessage(trickled, byte);
      replies.push(result);
      if (result.close) break;
    }

    const refused = replies.at(-1);
    expect(refused?.close).toBe(true);
    expect(refused?.replies[0]).toMatch(
      new RegExp(`^ERROR\\n[\\s\\S]*more than ${MAX_FRAME_PARTS} WebSocket messages`),
    );
    expect(replies).toHaveLength(MAX_FRAME_PARTS + 1);
  });
});
