/**
 * WCS OAM parity against the local runtime, as an OAM client written from the OAM document would
 * use it: a hand-typed STOMP client (`raw-stomp.ts`) and `@stomp/stompjs`, REST realms with
 * `fetch`; fake WCS nodes (test/support) that send hooks and serve `stream/find` with metrics,
 * `stream/find_all` and `stream/metrics`, polled by the node poller every second.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client, IMessage } from '@stomp/stompjs';
import { FakeWcs, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { RawStompClient } from '../support/raw-stomp.ts';
import { connectStomp, subscribe } from '../support/stomp.ts';

const TOKEN = 'oam-operator-token';
const ALLOWED_ORIGIN = 'https://ops.example.com';
let server: RunningHookServer;
let wcs: FakeWcs;
let rest: FakeWcsRest;
const clients: Client[] = [];
const raws: RawStompClient[] = [];

beforeAll(async () => {
  await useOwnTables('oam');
  server = await startHookServer(
    {
      API_TOKEN: TOKEN,
      WCS_REST_TIMEOUT_MS: '1000',
      NODE_POLL_INTERVAL_S: '1',
      STOMP_MAX_TIMEOUT_MS: '1500',
      ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    },
    { realtime: true, poller: true },
  );
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `oam-${randomUUID().slice(0, 6)}`, ip: '127.0.0.1' });
  rest = await new FakeWcsRest({ node: wcs }).start();
  const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
  await putNodeUrl(wcs.nodeId, rest.url);
}, 60_000);
afterAll(async () => {
  for (const raw of raws) raw.close();
  await Promise.all(clients.map((c) => c.deactivate({ force: true })));
  await server.close();
  await rest.close();
});

const wsUrl = () => `${server.baseUrl.replace('http', 'ws')}/ws?token=${TOKEN}`;

async function rawClient(): Promise<RawStompClient> {
  const raw = await RawStompClient.open(wsUrl());
  raws.push(raw);
  expect((await raw.connect()).command).toBe('CONNECTED');
  raw.send('SUBSCRIBE', { id: 'sub-1', destination: '/user/service' });
  return raw;
}

/** A REST realm, as `POST /api/<realm>` with the operator token. */
async function restRealm(realm: string, payload: unknown) {
  const response = await fetch(`${server.baseUrl}/api/${realm}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(payload),
  });
  return {
    http: response.status,
    ...((await response.json()) as { status: number; reason: string; payload?: unknown }),
  };
}

async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stompjs(): Promise<Client> {
  const client = await connectStomp(wsUrl());
  clients.push(client);
  return client;
}

const bodies = (messages: IMessage[]) => messages.map((m) => JSON.parse(m.body) as unknown);

/** A live publisher on the fake node, with metrics. */
async function livePublisher(name: string, metrics: Record<string, number | string>): Promise<WcsStream> {
  const session = wcs.newSession();
  await wcs.send('connect', wcs.connectBody(session));
  const stream = wcs.newStream(session, name, true);
  await wcs.goLive(stream, metrics);
  return stream;
}

describe('the metric catalogue', () => {
  it('answers the OAM document example: metric/list {"id":"3"} is "Video rate"', async () => {
    const raw = await rawClient();
    const reply = await raw.request('/api/metric/list', { id: '3' });
    expect(reply).toMatchObject({
      status: 200,
      reason: 'SUCCESS',
      payload: [{ id: 3, name: 'Video rate', note: expect.any(String), enumName: 'VIDEO_RATE' }],
    });
    const all = await restRealm('metric/list', {});
    expect((all.payload as { enumName: string }[]).map((m) => m.enumName)).toEqual(
      expect.arrayContaining([
        'VIDEO_RATE',
        'VIDEO_FPS',
        'VIDEO_WIDTH',
        'VIDEO_HEIGHT',
        'VIDEO_NACK',
        'VIDEO_PLI',
        'VIDEO_LOST',
        'AUDIO_RATE',
        'AUDIO_LOST',
        'VIDEO_CODEC',
        'AUDIO_CODEC',
      ]),
    );
    expect(await restRealm('metric/list', { id: '99' })).toMatchObject({
      http: 400,
      status: 400,
      reason: 'Object not found',
    });
  });
});

describe('nodes', () => {
  it('are learnt from their hooks and polled: node/list, node_status/list, /topic/nodes', async () => {
    await livePublisher(`warmup-${randomUUID().slice(0, 6)}`, {});
    const status = await eventually(async () => {
      const reply = await restRealm('node_status/list', { id: wcs.nodeId });
      const node = (reply.payload as Record<string, unknown>[] | undefined)?.[0];
      return node?.connected === true ? node : undefined;
    });
    expect(status).toMatchObject({
      id: wcs.nodeId,
      host: '127.0.0.1',
      connected: true,
      connectCounter: 1,
      connectTimestamp: expect.any(Number),
      rate: expect.any(Number),
      lastHookAt: expect.any(Number),
    });
    const list = await restRealm('node/list', {});
    expect(list.payload).toEqual(
      expect.arrayContaining([{ id: wcs.nodeId, host: '127.0.0.1', profiles: [] }]),
    );
    // By its IP too, as OAM's nodeIp filter names a node.
    expect((await restRealm('node/list', { id: '127.0.0.1' })).payload).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: wcs.nodeId })]),
    );
    expect(await restRealm('node/list', { id: 'nobody@10.9.9.9' })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
    // One request per node and poll: stream/find_all, with no profile or alarm asking for metrics.
    expect(rest.streamRequests.get('/rest-api/stream/find_all')).toBeGreaterThan(0);
  });

  it('is marked down, with the reason, when it answers 500 or garbage, and never read as having no streams', async () => {
    const client = await stompjs();
    const nodes = await subscribe(client, '/topic/nodes');
    const stream = await livePublisher(`down-${randomUUID().slice(0, 6)}`, { VIDEO_RATE: 1 });
    rest.streamAnswers = 'error';
    try {
      const down = await eventually(async () => {
        const node = (
          (await restRealm('node_status/list', { id: wcs.nodeId })).payload as Record<string, unknown>[]
        )[0];
        return node?.connected === false ? node : undefined;
      });
      expect(down.downReason).toMatch(/answered 500/);
      expect(down.downSince).toEqual(expect.any(Number));
      await eventually(() =>
        (bodies(nodes) as Record<string, unknown>[]).find(
          (b) => b.id === wcs.nodeId && b.connected === false,
        ),
      );
      rest.streamAnswers = 'garbage';
      await eventually(async () => {
        const node = (
          (await restRealm('node_status/list', { id: wcs.nodeId })).payload as Record<string, unknown>[]
        )[0];
        return /not JSON/.test(String(node?.downReason)) ? node : undefined;
      });
      // What the node had is still live: a bad answer is not "no streams".
      const live = await restRealm('stream/list', { mediaId: stream.mediaSessionId });
      expect(live.payload).toEqual([
        expect.objectContaining({ mediaId: stream.mediaSessionId, status: 'PUBLISHING' }),
      ]);
    } finally {
      rest.streamAnswers = 'normal';
    }
    const back = await eventually(async () => {
      const node = (
        (await restRealm('node_status/list', { id: wcs.nodeId })).payload as Record<string, unknown>[]
      )[0];
      return node?.connected === true ? node : undefined;
    });
    expect(back.connectCounter).toBe(2);
    expect(back.downReason).toBeNull();
    await wcs.end(stream);
  });
});

describe('profiles, rules and alarms', () => {
  it('are created, listed, updated and deleted with OAM payloads (numbers as text), and bad ones refused', async () => {
    const raw = await rawClient();
    const created = await raw.request('/api/profile/create', {
      name: 'video',
      rate: '30',
      metrics: ['3', '10'],
      rules: [],
    });
    expect(created).toMatchObject({ status: 200, reason: 'SUCCESS' });
    const id = (created.payload as { id: number }).id;
    expect(await raw.request('/api/profile/list', { id: String(id) })).toMatchObject({
      status: 200,
      payload: [{ id, name: 'video', rate: 30, metrics: [3, 10], rules: [] }],
    });
    expect(await raw.request('/api/profile/update', { id: String(id), rate: '15' })).toMatchObject({
      status: 200,
    });
    expect((await restRealm('profile/list', { id })).payload).toEqual([
      expect.objectContaining({ rate: 15, name: 'video' }),
    ]);

    const rule = await raw.request('/api/rule/create', {
      type: '0',
      name: 'cams',
      value: 'cam*',
      profiles: [String(id)],
    });
    const ruleId = (rule.payload as { id: number }).id;
    expect((await raw.request('/api/rule/list', { profile: String(id) })).payload).toEqual([
      { id: ruleId, type: 0, name: 'cams', value: 'cam*', profiles: [id] },
    ]);

    // Bad payloads: a clear 400 naming the field, and nothing stored.
    const before = ((await restRealm('profile/list', {})).payload as unknown[]).length;
    expect(
      await raw.request('/api/profile/create', { name: 'x', rate: 'often', metrics: ['3'] }),
    ).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^rate: /),
    });
    expect(await raw.request('/api/profile/create', { name: 'x', rate: '5', metrics: ['99'] })).toMatchObject(
      {
        status: 400,
        reason: 'metric 99 is not in metric/list',
      },
    );
    expect(await raw.request('/api/rule/create', { type: '7', name: 'x', value: '*' })).toMatchObject({
      status: 400,
    });
    expect(
      await raw.request('/api/rule/create', { type: '0', name: 'x', value: '*', profiles: ['9999'] }),
    ).toMatchObject({
      status: 400,
      reason: 'profile 9999 does not exist',
    });
    expect(
      await raw.request('/api/alarm/create', { type: '1', name: 'x', value: 'lots', metric: '3' }),
    ).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^value: /),
    });
    expect(await raw.request('/api/profile/update', { id: '9999', rate: '5' })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
    expect(await raw.request('/api/alarm/delete', { id: '9999' })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
    expect(await raw.request('/api/node/update', { id: 'nobody@10.9.9.9', profiles: [] })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
    expect(await raw.request('/api/node/update', { id: wcs.nodeId, profiles: ['9999'] })).toMatchObject({
      status: 400,
    });
    expect(await raw.request('/api/nosuch/realm', {})).toMatchObject({
      status: 400,
      reason: 'unknown realm /api/nosuch/realm',
    });
    expect(((await restRealm('profile/list', {})).payload as unknown[]).length).toBe(before);

    expect(await raw.request('/api/rule/update', { id: String(ruleId), value: 'studio-*' })).toMatchObject({
      status: 200,
    });
    expect((await raw.request('/api/rule/list', { id: String(ruleId) })).payload).toEqual([
      expect.objectContaining({ id: ruleId, value: 'studio-*' }),
    ]);
    const alarm = await raw.request('/api/alarm/create', {
      type: '1',
      name: 'lossy',
      value: '5',
      metric: '11',
      time: '2000',
    });
    const alarmId = (alarm.payload as { id: number }).id;
    expect(await raw.request('/api/alarm/update', { id: String(alarmId), value: '7.5' })).toMatchObject({
      status: 200,
    });
    expect((await raw.request('/api/alarm/list', {})).payload).toEqual(
      expect.arrayContaining([{ id: alarmId, type: 1, name: 'lossy', value: 7.5, metric: 11, time: 2000 }]),
    );
    expect(await raw.request('/api/alarm/delete', { id: String(alarmId) })).toMatchObject({ status: 200 });

    // A node follows the profiles assigned to it.
    expect(await raw.request('/api/node/update', { id: wcs.nodeId, profiles: [String(id)] })).toMatchObject({
      status: 200,
    });
    expect((await raw.request('/api/node/list', { id: wcs.nodeId })).payload).toEqual([
      { id: wcs.nodeId, host: '127.0.0.1', profiles: [id] },
    ]);
    expect(await raw.request('/api/node/update', { id: wcs.nodeId, profiles: [] })).toMatchObject({
      status: 200,
    });

    expect(await raw.request('/api/rule/delete', { id: String(ruleId) })).toMatchObject({ status: 200 });
    expect(await raw.request('/api/profile/delete', { id: String(id) })).toMatchObject({ status: 200 });
    expect(await raw.request('/api/profile/list', { id: String(id) })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
  });

  it('collect the metrics a profile names, from the streams its rules select, pushed on /stream/{nodeId}/{mediaId}', async () => {
    const tag = randomUUID().slice(0, 6);
    const profile = await restRealm('profile/create', { name: `p-${tag}`, rate: '1', metrics: ['3', '10'] });
    const profileId = (profile.payload as { id: number }).id;
    await restRealm('rule/create', {
      type: '0',
      name: `r-${tag}`,
      value: `cam-${tag}-*`,
      profiles: [String(profileId)],
    });
    const selected = await livePublisher(`cam-${tag}-1`, {
      VIDEO_RATE: 500_000,
      AUDIO_RATE: 32_000,
      VIDEO_WIDTH: 640,
    });
    const other = await livePublisher(`other-${tag}`, { VIDEO_RATE: 400_000 });

    // The independent client subscribes to OAM's realtime metrics destination.
    const raw = await rawClient();
    const destination = `/stream/${wcs.nodeId}/${selected.mediaSessionId}`;
    raw.send('SUBSCRIBE', { id: 'sub-2', destination });
    const message = await raw.next((f) => f.command === 'MESSAGE' && f.headers.destination === destination);
    const samples = JSON.parse(message.body) as Record<string, unknown>[];
    expect(Array.isArray(samples)).toBe(true);
    expect(samples[0]).toEqual({ VIDEO_RATE: 500_000, AUDIO_RATE: 32_000, timestamp: expect.any(Number) });

    const metrics = await eventually(async () => {
      const reply = await restRealm('stream/metrics', {
        node: wcs.nodeId,
        mediaId: selected.mediaSessionId,
        limit: '2',
      });
      return (reply.payload as unknown[]).length === 2
        ? (reply.payload as Record<string, number>[])
        : undefined;
    });
    expect(metrics[0]?.timestamp).toBeGreaterThan(metrics[1]?.timestamp as number);
    expect(metrics[0]).toMatchObject({ VIDEO_RATE: 500_000 });
    const paged = await restRealm('stream/metrics', {
      node: wcs.nodeId,
      mediaId: selected.mediaSessionId,
      limit: 1,
      offset: 1,
    });
    expect((paged.payload as Record<string, number>[])[0]?.timestamp).toBe(metrics[1]?.timestamp);
    // A stream no rule selects is not sampled.
    expect(
      (await restRealm('stream/metrics', { node: wcs.nodeId, mediaId: other.mediaSessionId })).payload,
    ).toEqual([]);
    expect(await restRealm('stream/metrics', { mediaId: other.mediaSessionId })).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^node: /),
    });
    // Metrics come in the same request as the streams: stream/find with display ["metrics"].
    expect(rest.streamRequests.get('/rest-api/stream/find')).toBeGreaterThan(0);
    expect(rest.streamRequests.get('/rest-api/stream/metrics') ?? 0).toBe(0);

    await restRealm('profile/delete', { id: profileId });
    await wcs.end(selected);
    await wcs.end(other);
  });

  it('raise a threshold alarm on /alarm and /alarms once past it for its time, give it to late subscribers, and clear it', async () => {
    const tag = randomUUID().slice(0, 6);
    const stream = await livePublisher(`alarm-${tag}`, { VIDEO_RATE: 500_000 });
    const client = await stompjs();
    const alarms = await subscribe(client, '/alarms');
    const created = await restRealm('alarm/create', {
      type: '0',
      name: `low-rate-${tag}`,
      value: '100000',
      metric: '3',
      node: wcs.nodeId,
      time: '1500',
    });
    const alarmId = (created.payload as { id: number }).id;
    expect((await restRealm('alarm/list', { id: alarmId })).payload).toEqual([
      {
        id: alarmId,
        type: 0,
        name: `low-rate-${tag}`,
        value: 100_000,
        metric: 3,
        node: wcs.nodeId,
        time: 1500,
      },
    ]);
    const mine = () => (bodies(alarms) as Record<string, unknown>[]).filter((b) => b.id === alarmId);

    wcs.setMetrics(stream.mediaSessionId, { VIDEO_RATE: 20_000 });
    const raised = await eventually(() => mine().find((b) => b.state === 'RAISED'));
    expect(raised).toMatchObject({
      type: 'alarm',
      alarm: 'THRESHOLD',
      name: `low-rate-${tag}`,
      metric: 'VIDEO_RATE',
      threshold: 100_000,
      above: false,
      value: 20_000,
      node: wcs.nodeId,
      mediaId: stream.mediaSessionId,
      stream: `alarm-${tag}`,
    });
    // Not before the breach had lasted the alarm's time.
    expect((raised.raisedAt as number) - (raised.breachSince as number)).toBeGreaterThanOrEqual(1500);

    // A client subscribing now (the document's /alarm) is told of the alarm already raised.
    const raw = await rawClient();
    raw.send('SUBSCRIBE', { id: 'sub-0', destination: '/alarm' });
    const told = await raw.next(
      (f) =>
        f.command === 'MESSAGE' && f.headers.destination === '/alarm' && f.body.includes(`low-rate-${tag}`),
    );
    expect(JSON.parse(told.body)).toMatchObject({ id: alarmId, state: 'RAISED' });

    wcs.setMetrics(stream.mediaSessionId, { VIDEO_RATE: 600_000 });
    await eventually(() => mine().find((b) => b.state === 'CLEARED'));
    expect(mine().map((b) => b.state)).toEqual(['RAISED', 'CLEARED']);
    await restRealm('alarm/delete', { id: alarmId });
    await wcs.end(stream);
  });
});

describe('streams', () => {
  it('stream/list takes OAM filters and shows age; showClosed adds the ended ones', async () => {
    const tag = randomUUID().slice(0, 6);
    const stream = await livePublisher(`list-${tag}`, {});
    const live = await restRealm('stream/list', {
      name: `list-${tag}`,
      nodeIp: '127.0.0.1',
      publisher: true,
    });
    expect(live.payload).toEqual([
      expect.objectContaining({
        name: `list-${tag}`,
        mediaId: stream.mediaSessionId,
        publisher: true,
        status: 'PUBLISHING',
        node: wcs.nodeId,
        age: expect.any(Number),
      }),
    ]);
    expect(
      (await restRealm('stream/list', { name: `list-${tag}`, node: 'elsewhere@10.1.1.1' })).payload,
    ).toEqual([]);
    await wcs.end(stream);
    expect((await restRealm('stream/list', { name: `list-${tag}` })).payload).toEqual([]);
    const closed = await restRealm('stream/list', { name: `list-${tag}`, showClosed: false });
    expect(closed.payload).toEqual([]);
    const shown = await restRealm('stream/list', { name: `list-${tag}`, showClosed: true });
    expect(shown.payload).toEqual([
      expect.objectContaining({ mediaId: stream.mediaSessionId, status: 'UNPUBLISHED' }),
    ]);
  });

  it('stream/history answers OAM fields (id, epoch-ms dates, duration, subscribers, node) with limit and offset', async () => {
    const tag = randomUUID().slice(0, 6);
    const name = `hist-${tag}`;
    const publisher = await livePublisher(name, {});
    const viewer = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(viewer));
    const play = wcs.newStream(viewer, name, false);
    await wcs.goLive(play);
    await wcs.end(play);
    await wcs.end(publisher);

    const history = await restRealm('stream/history', { name });
    const items = history.payload as Record<string, unknown>[];
    expect(items).toHaveLength(2);
    const pub = items.find((i) => i.publisher === true);
    expect(pub).toMatchObject({
      id: publisher.mediaSessionId,
      mediaId: publisher.mediaSessionId,
      name,
      status: 'UNPUBLISHED',
      createDate: expect.any(Number),
      endDate: expect.any(Number),
      duration: expect.any(Number),
      subscribers: [play.mediaSessionId],
      node: wcs.nodeId,
    });
    expect(pub?.duration).toBe((pub?.endDate as number) - (pub?.createDate as number));
    // Newest first; paged.
    expect(items[0]?.id).toBe(play.mediaSessionId);
    const second = await restRealm('stream/history', { name, limit: '1', offset: '1' });
    expect((second.payload as Record<string, unknown>[]).map((i) => i.id)).toEqual([
      publisher.mediaSessionId,
    ]);
    expect((await restRealm('stream/history', { name, publisher: false })).payload).toEqual([
      expect.objectContaining({ id: play.mediaSessionId, subscribers: [] }),
    ]);
    // Without a name: every stream of the last day, by the day index, newest first.
    const recent = (await restRealm('stream/history', { limit: 100 })).payload as Record<string, unknown>[];
    expect(recent.map((i) => i.id)).toEqual(
      expect.arrayContaining([publisher.mediaSessionId, play.mediaSessionId]),
    );
    const dates = recent.map((i) => i.createDate as number);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    expect(await restRealm('stream/history', { name, limit: 0 })).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^limit: /),
    });
  });
});

describe('the REST realms', () => {
  it('admit only the monitoring API token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`]) {
      const response = await fetch(`${server.baseUrl}/api/node/list`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        body: '{}',
      });
      expect(response.status).toBe(401);
    }
  });
});

describe("OAM's settings", () => {
  it('CORS: an allowed origin gets the headers and a preflight, another origin none', async () => {
    const preflight = await fetch(`${server.baseUrl}/api/stream/list`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await fetch(`${server.baseUrl}/api/stream/list`, {
      method: 'POST',
      headers: { origin: 'https://evil.example.net', authorization: `Bearer ${TOKEN}` },
      body: '{}',
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a WebSocket from an origin not allowed is refused 403; an allowed one opens', async () => {
    await expect(RawStompClient.open(wsUrl(), { origin: 'https://evil.example.net' })).rejects.toThrow(/403/);
    const allowed = await RawStompClient.open(wsUrl(), { origin: ALLOWED_ORIGIN });
    raws.push(allowed);
    expect((await allowed.connect()).command).toBe('CONNECTED');
  });

  it('stomp_max_timeout: a CONNECT later than it is refused and the connection closed', async () => {
    const late = await RawStompClient.open(wsUrl());
    raws.push(late);
    await new Promise((r) => setTimeout(r, 1800));
    const answer = await late.connect();
    expect(answer.command).toBe('ERROR');
    expect(answer.headers.message).toMatch(/CONNECT must come within 1500 ms/);
    await eventually(() => (late.closed ? true : undefined));
  });
});

describe('node/delete', () => {
  it('forgets a node until its next hook, and answers Object not found for one it does not know', async () => {
    const other = new FakeWcs({ appUrl: server.appUrl, appKey: wcs.appKey, ip: '127.0.0.9' });
    await other.send('connect', other.connectBody(other.newSession()));
    await eventually(async () =>
      (await restRealm('node/list', { id: other.nodeId })).status === 200 ? true : undefined,
    );
    expect(await restRealm('node/delete', { id: other.nodeId })).toMatchObject({
      status: 200,
      reason: 'SUCCESS',
    });
    expect(await restRealm('node/list', { id: other.nodeId })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
    expect(await restRealm('node/delete', { id: other.nodeId })).toMatchObject({
      status: 400,
      reason: 'Object not found',
    });
  });
});

describe('a node slower than a run', () => {
  it('is polled run after run: a run ends at its window, whatever the polls took', async () => {
    // Requests as they arrive (one a slow answer times out on is not counted by path).
    const polls = () => rest.requests;
    await wcs.send('connect', wcs.connectBody(wcs.newSession())); // the node is known
    await eventually(() => (polls() > 0 ? true : undefined));
    rest.delayMs = 1500; // longer than a run's window (0.9 s of the 1 s interval)
    try {
      const from = polls();
      await eventually(() => (polls() >= from + 3 ? true : undefined), 20_000);
    } finally {
      rest.delayMs = 0;
    }
  }, 30_000);
});

describe('an older WCS', () => {
  it('that refuses display in stream/find is asked stream/find_all and stream/metrics per sampled stream', async () => {
    const tag = randomUUID().slice(0, 6);
    rest.streamAnswers = 'legacy';
    const profile = await restRealm('profile/create', { name: `legacy-${tag}`, rate: '1', metrics: ['5'] });
    const stream = await livePublisher(`legacy-${tag}`, { VIDEO_FPS: 30 });
    try {
      const samples = await eventually(async () => {
        const reply = await restRealm('stream/metrics', { node: wcs.nodeId, mediaId: stream.mediaSessionId });
        return (reply.payload as unknown[]).length > 0
          ? (reply.payload as Record<string, number>[])
          : undefined;
      });
      expect(samples[0]).toEqual({ VIDEO_FPS: 30, timestamp: expect.any(Number) });
      expect(rest.streamRequests.get('/rest-api/stream/metrics')).toBeGreaterThan(0);
    } finally {
      rest.streamAnswers = 'normal';
      await restRealm('profile/delete', { id: (profile.payload as { id: number }).id });
      await wcs.end(stream);
    }
  });
});
