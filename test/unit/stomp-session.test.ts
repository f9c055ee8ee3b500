/**
 * The STOMP 1.2 protocol of the monitoring API, as WCS OAM clients speak it (reference §5.1):
 * connect, subscribe, request/reply on /user/service, disconnect with a receipt, and an ERROR that
 * ends the connection for anything else.
 */
import { describe, expect, it } from '@jest/globals';
import {
  API_GATEWAY_HEARTBEAT_MS,
  handleFrame,
  MAX_SUBSCRIPTIONS,
  negotiateHeartbeat,
  newSessionState,
  type RealmRequest,
} from '../../shared/realtime/stomp/session.ts';

const frame = (command: string, headers: Record<string, string> = {}, body = '') => ({
  command,
  headers,
  body,
});
const echo = async (request: RealmRequest) => ({
  status: 200,
  reason: 'SUCCESS',
  payload: { realm: request.realm },
});

async function connected() {
  const state = newSessionState();
  await handleFrame(state, frame('CONNECT', { 'accept-version': '1.2', host: 'h' }), echo, 's1');
  return state;
}

describe('CONNECT', () => {
  it('answers CONNECTED with version 1.2 and the negotiated heart-beat', async () => {
    const state = newSessionState();
    const actions = await handleFrame(
      state,
      frame('CONNECT', { 'accept-version': '1.1,1.2', host: 'h', 'heart-beat': '20000,5000' }),
      echo,
      's1',
    );
    expect(actions).toEqual([
      {
        kind: 'send',
        frame: {
          command: 'CONNECTED',
          headers: { version: '1.2', 'heart-beat': '0,300000', server: 'wcs-hooks/0.1', session: 's1' },
        },
      },
    ]);
    expect(state.connected).toBe(true);
  });

  it('refuses a client that cannot speak 1.2, and closes', async () => {
    const actions = await handleFrame(
      newSessionState(),
      frame('CONNECT', { 'accept-version': '1.0,1.1' }),
      echo,
      's1',
    );
    expect(actions[0]).toMatchObject({ frame: { command: 'ERROR', headers: { version: '1.2' } } });
    expect(actions.at(-1)).toEqual({ kind: 'close' });
  });

  it('refuses any frame before CONNECT', async () => {
    const actions = await handleFrame(
      newSessionState(),
      frame('SUBSCRIBE', { id: '1', destination: '/alarm' }),
      echo,
      's1',
    );
    expect(actions).toEqual([
      expect.objectContaining({ frame: expect.objectContaining({ command: 'ERROR' }) }),
      { kind: 'close' },
    ]);
  });
});

describe('negotiateHeartbeat', () => {
  it.each([
    ['0,0', { sendEveryMs: 0, expectEveryMs: 0 }],
    ['10000,10000', { sendEveryMs: 0, expectEveryMs: API_GATEWAY_HEARTBEAT_MS }],
    ['0,30000', { sendEveryMs: 0, expectEveryMs: 0 }],
    ['400000,0', { sendEveryMs: 0, expectEveryMs: 400000 }],
    ['junk', { sendEveryMs: 0, expectEveryMs: 0 }],
    [undefined, { sendEveryMs: 0, expectEveryMs: 0 }],
  ])(
    'with a client offering %s agrees on %j: the server sends none (a Lambda function has no timer)',
    (header, expected) => {
      expect(negotiateHeartbeat(header)).toEqual(expected);
    },
  );

  it("asks for a client heart-beat at least every 5 minutes, under API Gateway's 10-minute idle limit", () => {
    expect(API_GATEWAY_HEARTBEAT_MS).toBeLessThan(10 * 60_000);
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('subscribes to the known destinations and a stream topic, with a receipt when asked', async () => {
    const state = await connected();
    for (const [id, destination] of [
      ['a', '/alarm'],
      ['b', '/topic/streams'],
      ['c', '/topic/streams/cam-1'],
      ['d', '/user/service'],
    ]) {
      expect(
        await handleFrame(
          state,
          frame('SUBSCRIBE', { id: id as string, destination: destination as string }),
          echo,
          's1',
        ),
      ).toEqual([]);
    }
    const actions = await handleFrame(state, frame('UNSUBSCRIBE', { id: 'a', receipt: 'r-1' }), echo, 's1');
    expect(actions).toEqual([
      { kind: 'send', frame: { command: 'RECEIPT', headers: { 'receipt-id': 'r-1' } } },
    ]);
    expect(state.subscriptions).toEqual({
      b: '/topic/streams',
      c: '/topic/streams/cam-1',
      d: '/user/service',
    });
  });

  it('refuses an unknown destination or a missing id, and closes', async () => {
    for (const headers of [{ id: '1', destination: '/queue/x' }, { destination: '/alarm' }] as Record<
      string,
      string
    >[]) {
      const actions = await handleFrame(await connected(), frame('SUBSCRIBE', headers), echo, 's1');
      expect(actions.at(-1)).toEqual({ kind: 'close' });
    }
  });

  it(`holds at most ${MAX_SUBSCRIPTIONS} subscriptions; one more is an ERROR, resubscribing an id is not`, async () => {
    const state = await connected();
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++)
      await handleFrame(state, frame('SUBSCRIBE', { id: `s${i}`, destination: '/alarm' }), echo, 's1');
    const again = await handleFrame(
      state,
      frame('SUBSCRIBE', { id: 's0', destination: '/topic/sessions' }),
      echo,
      's1',
    );
    expect(again).toEqual([]);

    const actions = await handleFrame(
      state,
      frame('SUBSCRIBE', { id: 'one-more', destination: '/alarm' }),
      echo,
      's1',
    );

    expect(actions.at(-1)).toEqual({ kind: 'close' });
    expect(Object.keys(state.subscriptions)).toHaveLength(MAX_SUBSCRIPTIONS);
  });
});

describe('SEND to /app/api/<realm>', () => {
  it('answers on /user/service with the requestId, status and reason, as OAM does', async () => {
    const state = await connected();
    await handleFrame(state, frame('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' }), echo, 's1');

    const actions = await handleFrame(
      state,
      frame(
        'SEND',
        { destination: '/app/api/stream/list' },
        '{"requestId":"eb2c","realm":"/api/stream/list","payload":{}}',
      ),
      echo,
      's1',
    );

    expect(actions).toEqual([
      {
        kind: 'send',
        frame: {
          command: 'MESSAGE',
          headers: {
            destination: '/user/service',
            subscription: 'sub-1',
            'message-id': 's1-1',
            'content-type': 'application/json;charset=UTF-8',
          },
          body: '{"requestId":"eb2c","status":200,"reason":"SUCCESS","payload":{"realm":"/api/stream/list"}}',
        },
      },
    ]);
  });

  it('answers 400 with a reason for a body that is not a request', async () => {
    const state = await connected();
    await handleFrame(state, frame('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' }), echo, 's1');

    const [message] = await handleFrame(
      state,
      frame('SEND', { destination: '/app/api/stream/list' }, 'not json'),
      echo,
      's1',
    );

    expect(JSON.parse((message as { frame: { body: string } }).frame.body)).toEqual({
      status: 400,
      reason: 'the body is not JSON',
    });
  });

  it('serves the realm its destination names; a body realm naming another one is a 400 saying so', async () => {
    const state = await connected();
    await handleFrame(state, frame('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' }), echo, 's1');
    const reply = async (body: string) => {
      const [message] = await handleFrame(
        state,
        frame('SEND', { destination: '/app/api/stream/list' }, body),
        echo,
        's1',
      );
      return JSON.parse((message as { frame: { body: string } }).frame.body) as unknown;
    };

    expect(await reply('{"requestId":"a","realm":"/api/node/delete","payload":{}}')).toEqual({
      requestId: 'a',
      status: 400,
      reason: 'the body names realm /api/node/delete, the destination /app/api/stream/list: they must agree',
    });
    // Without a realm, or with the destination's (with or without /app), the destination decides.
    for (const realm of [undefined, '', '/api/stream/list', '/app/api/stream/list'])
      expect(await reply(JSON.stringify({ requestId: 'b', realm, payload: {} }))).toEqual({
        requestId: 'b',
        status: 200,
        reason: 'SUCCESS',
        payload: { realm: '/api/stream/list' },
      });
  });

  it('gives the realm the room one message has, and answers a 400 saying so for a reply that would not fit, never nothing', async () => {
    const state = await connected();
    await handleFrame(state, frame('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' }), echo, 's1');
    let room: number | undefined;
    const huge = async (_request: RealmRequest, maxReplyBytes?: number) => {
      room = maxReplyBytes;
      return { status: 200, reason: 'SUCCESS', payload: 'x'.repeat(200 * 1024) };
    };

    const [message] = await handleFrame(
      state,
      frame('SEND', { destination: '/app/api/stream/list' }, '{"requestId":"big","payload":{}}'),
      huge,
      's1',
    );

    expect(room).toBeGreaterThan(120 * 1024);
    expect(room).toBeLessThan(128 * 1024);
    const sent = (message as { frame: { body: string } }).frame.body;
    expect(JSON.parse(sent)).toEqual({
      requestId: 'big',
      status: 400,
      reason: expect.stringMatching(/^the answer is \d+ bytes, more than the 131072 a message may carry/),
    });
  });

  it('refuses a request from a client not subscribed to /user/service', async () => {
    const actions = await handleFrame(
      await connected(),
      frame('SEND', { destination: '/app/api/x' }, '{}'),
      echo,
      's1',
    );
    expect(actions.at(-1)).toEqual({ kind: 'close' });
  });
});

describe('DISCONNECT', () => {
  it('sends the receipt, then closes', async () => {
    const actions = await handleFrame(await connected(), frame('DISCONNECT', { receipt: '77' }), echo, 's1');
    expect(actions).toEqual([
      { kind: 'send', frame: { command: 'RECEIPT', headers: { 'receipt-id': '77' } } },
      { kind: 'close' },
    ]);
  });
});

describe('an unknown command', () => {
  it('gets an ERROR and the end of the connection', async () => {
    const actions = await handleFrame(await connected(), frame('HELLO'), echo, 's1');
    expect(actions[0]).toMatchObject({
      frame: { command: 'ERROR', headers: { message: 'unknown command HELLO' } },
    });
    expect(actions.at(-1)).toEqual({ kind: 'close' });
  });
});
