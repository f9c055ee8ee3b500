/**
 * OAM clients answered as OAM answers them (issue 24, item 9): what an OAM client written from the
 * OAM document sends (unused filters as empty strings, its own example payloads, a SEND whose body
 * names its realm) and what it expects back (`{status, reason}` for every error), over REST and
 * STOMP against the local runtime. A hand-typed STOMP client (`raw-stomp.ts`), REST with `fetch`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getConfig, putConfig } from '../../shared/state/config-store.ts';
import { writeSamples } from '../../shared/state/metrics.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { realmClients } from '../support/realm-client.ts';

const TOKEN = 'oam-clients-token';
let server: RunningHookServer;
let wcs: FakeWcs;
const { restRealm, rawClient, closeAll } = realmClients(() => server, TOKEN);

beforeAll(async () => {
  await useOwnTables('oam-clients');
  server = await startHookServer({ API_TOKEN: TOKEN }, { realtime: true });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `oamc-${randomUUID().slice(0, 6)}`, ip: '127.0.0.1' });
}, 60_000);
afterAll(async () => {
  closeAll();
  await server.close();
});

/** A live publisher on the fake node. */
async function livePublisher(name: string) {
  const session = wcs.newSession();
  await wcs.send('connect', wcs.connectBody(session));
  const stream = wcs.newStream(session, name, true);
  await wcs.goLive(stream);
  return stream;
}

describe('an empty string', () => {
  it('is no filter, in every optional filter of stream/list and stream/history, over REST and STOMP', async () => {
    const name = `empty-${randomUUID().slice(0, 6)}`;
    const stream = await livePublisher(name);
    // What OAM's own page sends when the operator fills in only the name.
    const unused = {
      node: '',
      mediaId: '',
      publisher: '',
      status: '',
      nodeIp: '',
      nodeHostName: '',
      app: '',
    };

    const listed = await restRealm('stream/list', { ...unused, name, showClosed: '' });
    expect(listed).toMatchObject({ http: 200, status: 200, reason: 'SUCCESS' });
    expect(listed.payload).toEqual([expect.objectContaining({ mediaId: stream.mediaSessionId })]);

    const history = await restRealm('stream/history', {
      ...unused,
      name,
      limit: '',
      offset: '',
      from: '',
      to: '',
      createDate: '',
      endDate: '',
    });
    expect(history).toMatchObject({ http: 200, status: 200 });
    expect(history.payload).toEqual([expect.objectContaining({ id: stream.mediaSessionId })]);

    const raw = await rawClient();
    expect(await raw.request('/api/stream/list', { ...unused, name })).toMatchObject({
      status: 200,
      payload: [expect.objectContaining({ mediaId: stream.mediaSessionId })],
    });
    expect(await raw.request('/api/stream/history', { ...unused, name, limit: '' })).toMatchObject({
      status: 200,
      payload: [expect.objectContaining({ id: stream.mediaSessionId })],
    });
  });

  it('is no filter in the other realms too, and a required field given as one is missing', async () => {
    const raw = await rawClient();
    for (const realm of [
      'node/list',
      'node_status/list',
      'metric/list',
      'profile/list',
      'rule/list',
      'alarm/list',
    ])
      expect([realm, await raw.request(`/api/${realm}`, { id: '' })]).toEqual([
        realm,
        expect.objectContaining({ status: 200 }),
      ]);
    expect(await raw.request('/api/rule/list', { id: '', profile: '' })).toMatchObject({ status: 200 });
    expect(await restRealm('session/list', { app: wcs.appKey, user: '' })).toMatchObject({ status: 200 });
    // An alarm's node left empty watches every node, as one left out does.
    const alarm = await restRealm('alarm/create', {
      type: '1',
      name: 'x',
      value: '1',
      metric: '3',
      node: '',
    });
    expect(alarm).toMatchObject({ status: 200 });
    const id = (alarm.payload as { id: number }).id;
    expect((await restRealm('alarm/list', { id })).payload).toEqual([
      expect.not.objectContaining({ node: '' }),
    ]);
    await restRealm('alarm/delete', { id });

    expect(await restRealm('session/history', { sessionId: '' })).toMatchObject({
      http: 400,
      status: 400,
      reason: expect.stringMatching(/^sessionId: /),
    });
    expect(await restRealm('stream/metrics', { node: '', mediaId: 'x' })).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^node: /),
    });
  });
});

describe('every error of a REST realm', () => {
  /** A raw `POST /api/stream/list`: what an OAM client (or a mistaken one) might send. */
  async function post(init: { authorization?: string; contentType?: string; body: string }) {
    const response = await fetch(`${server.baseUrl}/api/stream/list`, {
      method: 'POST',
      headers: {
        ...(init.authorization !== undefined && { authorization: init.authorization }),
        ...(init.contentType !== undefined && { 'content-type': init.contentType }),
      },
      body: init.body,
    });
    return { http: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it.each([
    ['no token', { contentType: 'application/json', body: '{}' }, 401],
    ['a wrong token', { authorization: 'Bearer wrong', contentType: 'application/json', body: '{}' }, 401],
    [
      'a body that is not JSON',
      { authorization: `Bearer ${TOKEN}`, contentType: 'application/json', body: '{"app":' },
      400,
    ],
    [
      'a content type other than JSON',
      { authorization: `Bearer ${TOKEN}`, contentType: 'text/plain', body: '{}' },
      415,
    ],
    [
      'a JSON body that is not an object',
      { authorization: `Bearer ${TOKEN}`, contentType: 'application/json', body: '[1]' },
      400,
    ],
    [
      'a body over the limit',
      {
        authorization: `Bearer ${TOKEN}`,
        contentType: 'application/json',
        body: `{"app":"${'x'.repeat(300 * 1024)}"}`,
      },
      413,
    ],
    [
      'a body nested too deep',
      {
        authorization: `Bearer ${TOKEN}`,
        contentType: 'application/json',
        body: `${'['.repeat(200)}${']'.repeat(200)}`,
      },
      400,
    ],
  ])("is in OAM's shape, {status, reason}, with the HTTP status: %s", async (_what, init, status) => {
    const answer = await post(init);
    expect(answer.http).toBe(status);
    expect(answer.body).toEqual({ status, reason: expect.any(String) });
    expect((answer.body.reason as string).length).toBeGreaterThan(0);
  });
});

describe('deleting a profile', () => {
  it('assigned to a node is refused with a 400 naming the node, until the node is given others', async () => {
    await wcs.send('connect', wcs.connectBody(wcs.newSession())); // the node is known
    const created = await restRealm('profile/create', { name: 'only', rate: '5', metrics: ['3'] });
    const id = (created.payload as { id: number }).id;
    expect(await restRealm('node/update', { id: wcs.nodeId, profiles: [String(id)] })).toMatchObject({
      status: 200,
    });

    const refused = await restRealm('profile/delete', { id });
    expect(refused).toMatchObject({ http: 400, status: 400 });
    expect(refused.reason).toContain(`profile ${id} is assigned to node ${wcs.nodeId}`);
    // Nothing changed: the node still samples with it.
    expect((await restRealm('profile/list', { id })).payload).toEqual([expect.objectContaining({ id })]);
    expect((await restRealm('node/list', { id: wcs.nodeId })).payload).toEqual([
      expect.objectContaining({ profiles: [id] }),
    ]);

    await restRealm('node/update', { id: wcs.nodeId, profiles: [] });
    expect(await restRealm('profile/delete', { id })).toMatchObject({ status: 200 });
  });

  it('takes it out of the rules that list it, and deleting a rule out of the profiles that list it', async () => {
    const profile = await restRealm('profile/create', { name: 'p', rate: '5', metrics: ['3'] });
    const profileId = (profile.payload as { id: number }).id;
    const kept = await restRealm('profile/create', { name: 'kept', rate: '5', metrics: ['3'] });
    const keptId = (kept.payload as { id: number }).id;
    const rule = await restRealm('rule/create', {
      type: '0',
      name: 'r',
      value: 'cam*',
      profiles: [String(profileId), String(keptId)],
    });
    const ruleId = (rule.payload as { id: number }).id;
    await restRealm('profile/update', { id: keptId, rules: [String(ruleId)] });

    expect(await restRealm('profile/delete', { id: profileId })).toMatchObject({ status: 200 });
    expect((await restRealm('rule/list', { id: ruleId })).payload).toEqual([
      expect.objectContaining({ profiles: [keptId] }),
    ]);
    // The rule can be changed again: it names no profile that is gone.
    expect(await restRealm('rule/update', { id: ruleId, value: 'studio*' })).toMatchObject({ status: 200 });

    expect(await restRealm('rule/delete', { id: ruleId })).toMatchObject({ status: 200 });
    expect((await restRealm('profile/list', { id: keptId })).payload).toEqual([
      expect.objectContaining({ rules: [] }),
    ]);
    expect(await restRealm('profile/update', { id: keptId, rate: '10' })).toMatchObject({ status: 200 });
    await restRealm('profile/delete', { id: keptId });
  });
});

describe('/stream/{node}/{mediaId}', () => {
  it("delivers a stream's samples to a subscription naming its node by IP, as by nodeId", async () => {
    const raw = await rawClient();
    const mediaId = randomUUID();
    const byId = `/stream/${wcs.nodeId}/${mediaId}`;
    const byIp = `/stream/127.0.0.1/${mediaId}`;
    raw.send('SUBSCRIBE', { id: 'by-id', destination: byId });
    raw.send('SUBSCRIBE', { id: 'by-ip', destination: byIp, receipt: 'subscribed' });
    await raw.next((f) => f.command === 'RECEIPT' && f.headers['receipt-id'] === 'subscribed');

    await writeSamples([
      { nodeId: wcs.nodeId, mediaId, timestamp: Date.now(), values: { VIDEO_RATE: 1234 } },
    ]);

    const sample = (subscription: string) =>
      raw.next((f) => f.command === 'MESSAGE' && f.headers.subscription === subscription);
    const [toId, toIp] = await Promise.all([sample('by-id'), sample('by-ip')]);
    for (const message of [toId, toIp]) {
      expect(JSON.parse(message.body)).toEqual([{ VIDEO_RATE: 1234, timestamp: expect.any(Number) }]);
      // The destination the sample was sent to, as a broker names it for a wildcard subscription.
      expect(message.headers.destination).toBe(byId);
    }
  });
});

describe("OAM's example payloads", () => {
  it('number metrics as OAM 1.0 does: metric/list 1, 2, 3, 10; the profile of metrics ["1","2"] is accepted', async () => {
    const raw = await rawClient();
    const named = async (id: string) =>
      ((await raw.request('/api/metric/list', { id })).payload as { enumName: string }[])[0]?.enumName;
    expect([await named('1'), await named('2'), await named('3'), await named('10')]).toEqual([
      'VIDEO_HEIGHT',
      'VIDEO_WIDTH',
      'VIDEO_RATE',
      'AUDIO_RATE',
    ]);

    const rule = await restRealm('rule/create', { type: '0', name: 'rule2', value: 'test*' });
    const ruleId = String((rule.payload as { id: number }).id);
    // OAM's REST example, as the document gives it (its rule id the one just made).
    const created = await restRealm('profile/create', {
      name: 'profile2',
      rate: '30',
      metrics: ['1', '2'],
      rules: [ruleId],
    });
    expect(created).toMatchObject({ http: 200, status: 200, reason: 'SUCCESS' });
    const id = (created.payload as { id: number }).id;
    expect((await restRealm('profile/list', { id })).payload).toEqual([
      { id, name: 'profile2', rate: 30, metrics: [1, 2], rules: [Number(ruleId)] },
    ]);
    // Stored by what WCS calls them, so that no numbering change can change what a profile collects.
    expect(await getConfig('profile', String(id))).toMatchObject({
      metrics: ['VIDEO_HEIGHT', 'VIDEO_WIDTH'],
    });
    await restRealm('profile/delete', { id });
    await restRealm('rule/delete', { id: ruleId });
  });

  it("a rule of OAM's regular expression form is accepted; one that cannot be matched in linear time is a 400 saying why", async () => {
    const created = await restRealm('rule/create', { type: '0', name: 'rule1', value: '.*', profiles: [] });
    expect(created).toMatchObject({ http: 200, status: 200 });
    const id = (created.payload as { id: number }).id;
    expect(await restRealm('rule/update', { id, value: 'cam-[0-9]+' })).toMatchObject({ status: 200 });

    for (const value of ['(a)\\1', '(?=cam)cam.*', '[a-z]{1000}']) {
      const refused = await restRealm('rule/create', { type: '0', name: 'bad', value });
      expect([value, refused]).toEqual([
        value,
        expect.objectContaining({ http: 400, status: 400, reason: expect.stringMatching(/^value: /) }),
      ]);
      expect(await restRealm('rule/update', { id, value })).toMatchObject({
        status: 400,
        reason: expect.stringMatching(/^value: /),
      });
    }
    expect((await restRealm('rule/list', { id })).payload).toEqual([
      expect.objectContaining({ value: 'cam-[0-9]+' }),
    ]);
    await restRealm('rule/delete', { id });
  });

  it('profiles and alarms stored with the ids of before are read with the metrics they meant', async () => {
    // Stored by an earlier version: 4 was VIDEO_WIDTH, 11 AUDIO_RATE, 12 AUDIO_LOST.
    await putConfig('profile', '900', { id: 900, name: 'old', rate: 5, metrics: [4, 11], rules: [] });
    await putConfig('alarm', '900', { id: 900, type: 1, name: 'old', value: 5, metric: 12, time: 0 });
    expect((await restRealm('profile/list', { id: 900 })).payload).toEqual([
      expect.objectContaining({ metrics: [2, 10] }),
    ]);
    expect((await restRealm('alarm/list', { id: 900 })).payload).toEqual([
      expect.objectContaining({ metric: 11 }),
    ]);
    // Changed once, it is stored the new way.
    expect(await restRealm('profile/update', { id: 900, rate: '6' })).toMatchObject({ status: 200 });
    expect(await getConfig('profile', '900')).toMatchObject({
      metrics: ['VIDEO_WIDTH', 'AUDIO_RATE'],
      rate: 6,
    });
    await restRealm('profile/delete', { id: 900 });
    await restRealm('alarm/delete', { id: 900 });
  });
});
