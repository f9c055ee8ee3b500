/**
 * The sender, through real HTTP end to end: the operator API and the relay put data in, the sender
 * pushes it through the WCS REST API of the node holding each session (two fake nodes here, one
 * requiring Basic auth), and every send is recorded. Retries, the dead-letter queue, gone
 * sessions and a 1,000-session fan-out with bounded concurrency.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { putNodeUrl } from '../../shared/sender/wcs-nodes.ts';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { LocalQueue } from '../../shared/store/local-queue.ts';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';
import { HS256_SECRET } from '../support/tokens.ts';

const API_TOKEN = 'operator-token-for-tests';
const CONCURRENCY = 8;
let server: RunningHookServer;
let nodeA: FakeWcs;
let nodeB: FakeWcs;
let restA: FakeWcsRest;
let restB: FakeWcsRest;
let nodeC: FakeWcs;
let restC: FakeWcsRest;
const app = `sender-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  // Two nodes on two loopback addresses, as two WCS servers would be.
  nodeA = new FakeWcs({ appUrl: '', appKey: app, ip: '127.0.0.2' });
  nodeB = new FakeWcs({ appUrl: '', appKey: app, ip: '127.0.0.3' });
  restA = await new FakeWcsRest({
    node: nodeA,
    host: '127.0.0.2',
    credentials: { username: 'rest', password: 'secret' },
  }).start();
  restB = await new FakeWcsRest({ node: nodeB, host: '127.0.0.3' }).start();
  server = await startHookServer(
    {
      WCS_REST_USERNAME: 'rest',
      WCS_REST_PASSWORD: 'secret',
      WCS_REST_BACKOFF_MS: '5',
      SEND_CONCURRENCY: String(CONCURRENCY),
      API_TOKEN,
    },
    { sender: { maxReceiveCount: 3, visibilityMs: 200 } },
  );
  // One node's REST URL stored by its nodeId, the other's by its IP: both keys of the node map.
  await putNodeUrl(nodeA.nodeId, restA.url);
  await putNodeUrl('127.0.0.3', restB.url);
  nodeC = new FakeWcs({ appUrl: server.appUrl, appKey: app, ip: '127.0.0.4' });
  restC = await new FakeWcsRest({ node: nodeC, host: '127.0.0.4' }).start();
  for (const node of [nodeA, nodeB])
    (node as unknown as { options: { appUrl: string } }).options.appUrl = server.appUrl;
  await putAppPolicy(app, {
    admission: 'token',
    hs256Secret: HS256_SECRET,
    allowRelay: true,
    playRequiresGrant: false,
  });
}, 60_000);
afterAll(async () => {
  await server.close();
  await restA.close();
  await restB.close();
  await restC.close();
});

async function connect(node: FakeWcs, user: string): Promise<WcsSession> {
  const session = node.newSession();
  const token = await issueClientToken(
    HS256_SECRET,
    { sub: user, aud: app, data: true, publish: ['*'] },
    600,
  );
  const reply = await node.send('connect', node.connectBody(session, { custom: { token } }));
  expect(reply.status).toBe(200);
  return session;
}

/** What the API answers: a send summary, a job id, or an error. */
interface ApiAnswer {
  targets?: number;
  sent?: number;
  jobId?: string;
  details?: { field: string }[];
  results: { operationId: string; outcome: string }[];
}

async function api(body: unknown, token = API_TOKEN) {
  const response = await fetch(`${server.baseUrl}/api/data/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as ApiAnswer };
}

async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /api/data/send to a session', () => {
  it('pushes the payload through the node holding the session, and records it SENT', async () => {
    const session = await connect(nodeA, 'u1');

    const { status, json } = await api({
      target: { sessionId: session.sessionId },
      payload: { text: 'hello' },
    });

    expect(status).toBe(200);
    expect(json).toMatchObject({ targets: 1, sent: 1, failed: 0, gone: 0, queued: 0 });
    const [received] = restA.receivedBy(session.sessionId);
    expect(received).toEqual({
      nodeId: nodeA.nodeId,
      sessionId: session.sessionId,
      operationId: json.results[0]?.operationId as string,
      payload: { text: 'hello' },
    });
    const record = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: json.results[0]?.operationId as string,
    });
    expect(record).toMatchObject({
      direction: 'OUT',
      outcome: 'SENT',
      attempts: 1,
      nodeId: nodeA.nodeId,
      target: `session:${session.sessionId}`,
    });
  });

  it('refuses a caller without the API token, and a body without a target', async () => {
    expect((await api({ target: { appKey: app }, payload: 1 }, '')).status).toBe(401);
    expect((await api({ target: { appKey: app }, payload: 1 }, 'wrong')).status).toBe(401);
    const bad = await api({ payload: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toContainEqual(expect.objectContaining({ field: 'target' }));
  });

  it('retries a node that fails twice, with the same operationId, and records SENT after 3 attempts', async () => {
    const session = await connect(nodeA, 'u2');
    const before = restA.requests;
    restA.failNext(503, 502);

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'retry me' });

    expect(json).toMatchObject({ sent: 1 });
    expect(restA.requests - before).toBe(3);
    expect(restA.receivedBy(session.sessionId)).toHaveLength(1);
    const operationIds = restA.attempts
      .filter((a) => a.sessionId === session.sessionId)
      .map((a) => a.operationId);
    expect(operationIds).toEqual(Array(3).fill(json.results[0]?.operationId as string));
    const record = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: json.results[0]?.operationId as string,
    });
    expect(record).toMatchObject({ outcome: 'SENT', attempts: 3 });
  });

  it('reaches a node among 500 with a configured REST URL (node URLs are data, not an environment variable)', async () => {
    const nodes = Array.from(
      { length: 500 },
      (_, i) => `n${i}${randomUUID().slice(0, 8)}@10.${i >> 8}.${i & 255}.9`,
    );
    for (let i = 0; i < nodes.length; i += 25)
      await Promise.all(
        nodes.slice(i, i + 25).map((node) => putNodeUrl(node, `http://${node.split('@')[1]}:8081/rest-api`)),
      );
    // One more, the real one, among them.
    const node = new FakeWcs({ appUrl: server.appUrl, appKey: app, ip: '127.0.0.4' });
    await putNodeUrl(node.nodeId, restC.url);
    const session = await connect(node, `u-500-${randomUUID().slice(0, 4)}`);
    (nodeC.heldSessions as Set<string>).add(session.sessionId);

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'one of many' });

    expect(json).toMatchObject({ sent: 1 });
    expect(restC.receivedBy(session.sessionId)).toHaveLength(1);
  }, 60_000);

  it('marks a session gone when its node answers 404 and lists it no more, and does not retry', async () => {
    const session = await connect(nodeB, 'u3');
    // The node still holds another session: it answers connection/find_all with a list, which
    // confirms it is a WCS REST API, and the list does not have this session.
    await connect(nodeB, 'u3-other');
    nodeB.heldSessions.delete(session.sessionId);
    const before = restB.attempts.length;

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'anyone?' });

    expect(json).toMatchObject({ gone: 1, sent: 0 });
    expect(restB.attempts.length - before).toBe(1);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toMatchObject({
      status: 'DISCONNECTED',
      info: expect.stringMatching(/^gone: WCS answered 404/),
    });
  });

  it('ends a gone session as a DISCONNECTED would: its stream name is free at once, and the real DISCONNECTED later changes nothing', async () => {
    const goneApp = `gone-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(goneApp, { admission: 'open', singlePublisher: true });
    const session = () => ({ ...nodeB.newSession(), appKey: goneApp });
    const publish = async (s: WcsSession) =>
      (await nodeB.send('publishStream', nodeB.streamBody(nodeB.newStream(s, 'gone-name', true), 'PENDING')))
        .status;
    const first = session();
    expect((await nodeB.send('connect', nodeB.connectBody(first))).status).toBe(200);
    expect(await publish(first)).toBe(200);
    const second = session();
    expect((await nodeB.send('connect', nodeB.connectBody(second))).status).toBe(200);
    expect(await publish(second)).toBe(403); // one publisher per name: the first holds it

    nodeB.heldSessions.delete(first.sessionId);
    const { json } = await api({ target: { sessionId: first.sessionId }, payload: 'still there?' });
    expect(json).toMatchObject({ gone: 1 });

    // The first session's hold was released with it: the name is free for the next publisher.
    expect(await publish(second)).toBe(200);
    // WCS's own DISCONNECTED, arriving later, is a duplicate: it releases nothing of the new holder.
    const late = await nodeB.send('ConnectionStatusEvent', nodeB.connectionStatusBody(first, 'DISCONNECTED'));
    expect(late.status).toBe(200);
    const third = session();
    expect((await nodeB.send('connect', nodeB.connectBody(third))).status).toBe(200);
    expect(await publish(third)).toBe(403);
    expect(await getItem('sessions', { sessionId: first.sessionId })).toMatchObject({
      status: 'DISCONNECTED',
    });
  });

  it.each([
    ['a REST URL without /rest-api', () => restC.url.replace('/rest-api', ''), 'HTTP ERROR 404'],
    ['a REST URL that is not a WCS at all', () => `${server.baseUrl}/rest-api`, 'NotFound'],
  ])('closes nothing when %s answers 404, and says the URL is wrong', async (_case, urlOf, said) => {
    // A node of its own for each case: its URL is what the operator mistyped.
    const node = new FakeWcs({ appUrl: server.appUrl, appKey: app, ip: '127.0.0.4' });
    await putNodeUrl(node.nodeId, urlOf());
    const session = await connect(node, `u-wrong-${randomUUID().slice(0, 4)}`);

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'hello?' });

    expect(json).toMatchObject({ gone: 0, sent: 0, failed: 1 });
    const record = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: json.results[0]?.operationId as string,
    });
    expect(record).toMatchObject({ outcome: 'FAILED' });
    expect(String(record?.reason)).toMatch(/not confirmed as a WCS REST API/);
    expect(String(record?.reason)).toContain(said);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toMatchObject({
      status: 'PENDING',
      openAppKey: app,
    });
  });

  it.each([
    ['a nodeId that smuggles a URL', 'n@::ffff:127.0.0.1]:3262/steal#'],
    ['a node outside the allowed networks (the metadata service)', 'n@169.254.169.254'],
    ['a public node nobody configured', 'n@8.8.8.8'],
  ])('refuses to push to %s, records the reason, and sends nothing anywhere', async (_case, nodeId) => {
    const node = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    (node as unknown as { nodeId: string }).nodeId = nodeId;
    const session = await connect(node, `u-node-${randomUUID().slice(0, 4)}`);
    const before = [restA, restB, restC].map((r) => r.requests);

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'secret?' });

    expect(json).toMatchObject({ sent: 0, failed: 1, gone: 0, queued: 0 });
    const record = await getItem('dataMessages', {
      sessionId: session.sessionId,
      operationId: json.results[0]?.operationId as string,
    });
    expect(record).toMatchObject({ outcome: 'FAILED', attempts: 0 });
    expect(String(record?.reason)).toMatch(/does not end in @<IP address>|outside the allowed networks/);
    expect([restA, restB, restC].map((r) => r.requests)).toEqual(before);
    expect(await getItem('sessions', { sessionId: session.sessionId })).toMatchObject({ status: 'PENDING' });
  });

  it('queues a send that keeps failing, retries it from the queue, and parks it in the dead-letter queue', async () => {
    const session = await connect(nodeA, 'u4');
    // Every attempt fails: 3 in the request, 3 per delivery from the queue.
    restA.failNext(...Array(3 * 4).fill(503));

    const { json } = await api({ target: { sessionId: session.sessionId }, payload: 'doomed' });
    expect(json).toMatchObject({ queued: 1 });
    const operationId = json.results[0]?.operationId as string;

    const dlq = new LocalQueue(process.env.LOCAL_QUEUE_TABLE as string);
    const parked = await eventually(async () =>
      (await dlq.peek('send-dlq')).find((m) => JSON.parse(m.body).operationId === operationId),
    );
    expect(JSON.parse(parked.body)).toMatchObject({
      kind: 'send',
      sessionId: session.sessionId,
      payload: 'doomed',
    });
    const record = await getItem('dataMessages', { sessionId: session.sessionId, operationId });
    expect(record).toMatchObject({ outcome: 'FAILED', reason: expect.stringContaining('503') });
    expect(Number(record?.attempts)).toBeGreaterThanOrEqual(9);
    expect(restA.receivedBy(session.sessionId)).toHaveLength(0);
  });
});

describe('targets', () => {
  it('reaches every open session of a user, and only theirs', async () => {
    const [a1, a2, other] = [
      await connect(nodeA, 'walt'),
      await connect(nodeB, 'walt'),
      await connect(nodeA, 'xena'),
    ];

    const { json } = await api({ target: { userId: 'walt', appKey: app }, payload: 'for walt' });

    expect(json).toMatchObject({ targets: 2, sent: 2 });
    expect(restA.receivedBy(a1.sessionId)).toHaveLength(1);
    expect(restB.receivedBy(a2.sessionId)).toHaveLength(1);
    expect(restA.receivedBy(other.sessionId)).toHaveLength(0);
  });

  it('reaches the players of a stream, not its publisher, through a queued job', async () => {
    const publisher = await connect(nodeA, 'pub');
    const players = [await connect(nodeA, 'p1'), await connect(nodeB, 'p2')];
    const name = `show-${randomUUID().slice(0, 6)}`;
    await nodeA.send(
      'StreamStatusEvent',
      nodeA.streamBody(nodeA.newStream(publisher, name, true), 'PUBLISHING'),
    );
    for (const [i, p] of players.entries()) {
      const node = i === 0 ? nodeA : nodeB;
      await node.send('StreamStatusEvent', node.streamBody(node.newStream(p, name, false), 'PLAYING'));
    }

    const { status, json } = await api({ target: { streamName: name, appKey: app }, payload: { cue: 1 } });

    expect(status).toBe(202);
    expect(json.jobId).toEqual(expect.any(String));
    await eventually(
      () =>
        restA.receivedBy(players[0]?.sessionId ?? '').length === 1 &&
        restB.receivedBy(players[1]?.sessionId ?? '').length === 1,
    );
    expect(restA.receivedBy(publisher.sessionId)).toHaveLength(0);
  });
});

describe('relay between clients', () => {
  it('delivers a payload addressed to another user to that user’s sessions, after answering WCS', async () => {
    const alice = await connect(nodeA, 'alice');
    const bob = await connect(nodeB, 'bob');

    const reply = await nodeA.send('OnDataEvent', nodeA.dataBody(alice, { to: 'bob', text: 'hi bob' }));

    expect(reply.status).toBe(200);
    const [delivered] = await eventually(() => {
      const got = restB.receivedBy(bob.sessionId);
      return got.length > 0 ? got : undefined;
    });
    expect(delivered?.payload).toEqual({ to: 'bob', text: 'hi bob', from: 'alice' });
  });

  it.each([
    ['the anonymous placeholder', '-', /is not a user id/],
    ['an empty name', ' ', /must name a user/],
    ['a wildcard', '*', /is not a user id/],
    ['a key separator', 'bob#', /is not a user id/],
    ['not a string', 42, /must name a user/],
  ])(
    'refuses to relay to %s, with the reason, and records the message refused',
    async (_case, to, reason) => {
      const sender = await connect(nodeA, `relayer-${randomUUID().slice(0, 4)}`);
      // A client without a user (open admission) would be reached by `-`.
      const anonymous = nodeA.newSession();
      await nodeA.send('connect', nodeA.connectBody(anonymous));
      const data = nodeA.dataBody(sender, { to, text: 'to everyone?' });

      const reply = await nodeA.send('OnDataEvent', data);

      expect(reply.status).toBe(403);
      expect(reply.json?.message).toMatch(reason);
      expect(
        await getItem('dataMessages', { sessionId: sender.sessionId, operationId: String(data.operationId) }),
      ).toMatchObject({
        decision: 'REFUSED',
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(restA.receivedBy(anonymous.sessionId)).toHaveLength(0);
    },
  );

  it('reaches that user only, not a user whose id begins with it and a #', async () => {
    const [sender, dan, danB] = [
      await connect(nodeA, `carol-${randomUUID().slice(0, 4)}`),
      await connect(nodeB, 'dan'),
      await connect(nodeB, 'dan#b'),
    ];

    await nodeA.send('OnDataEvent', nodeA.dataBody(sender, { to: 'dan', text: 'hi dan' }));

    await eventually(() => restB.receivedBy(dan.sessionId).length === 1);
    expect(restB.receivedBy(danB.sessionId)).toHaveLength(0);
  });
});

describe('a fan-out to 1,000 sessions on two nodes', () => {
  it('delivers exactly one message to each, never more than the concurrency limit at once', async () => {
    const fanApp = `fan-${randomUUID().slice(0, 8)}`;
    const nodes = [nodeA, nodeB];
    const sessions: WcsSession[] = [];
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const node = nodes[(batch * 50 + i) % 2] as FakeWcs;
          const session = { ...node.newSession(), appKey: fanApp };
          sessions.push(session);
          const reply = await node.send('connect', node.connectBody(session));
          expect(reply.status).toBe(200);
        }),
      );
    }
    restA.maxInFlight = 0;
    restB.maxInFlight = 0;
    restA.delayMs = 2;
    restB.delayMs = 2;

    const { json } = await api({ target: { appKey: fanApp }, payload: { broadcast: true }, mode: 'sync' });

    restA.delayMs = 0;
    restB.delayMs = 0;
    expect(json).toMatchObject({ targets: 1000, sent: 1000, failed: 0, gone: 0, queued: 0 });
    for (const session of sessions) {
      const rest = session.nodeId === nodeA.nodeId ? restA : restB;
      expect(rest.receivedBy(session.sessionId)).toHaveLength(1);
    }
    expect(restA.maxInFlight + restB.maxInFlight).toBeLessThanOrEqual(2 * CONCURRENCY);
    expect(Math.max(restA.maxInFlight, restB.maxInFlight)).toBeLessThanOrEqual(CONCURRENCY);
    expect(Math.max(restA.maxInFlight, restB.maxInFlight)).toBeGreaterThan(1);
    // Every send recorded (in batches), each with its outcome, once the answer is given.
    const results = json.results as unknown as { sessionId: string; operationId: string }[];
    expect(results).toHaveLength(1000);
    for (const { sessionId, operationId } of results) {
      expect(await getItem('dataMessages', { sessionId, operationId })).toMatchObject({
        direction: 'OUT',
        outcome: 'SENT',
        attempts: 1,
        target: expect.any(String),
        payload: JSON.stringify({ broadcast: true }),
      });
    }
  }, 120_000);
});
