/**
 * OAM clients answered as OAM answers them (issue 24, item 9): what an OAM client written from the
 * OAM document sends (unused filters as empty strings, its own example payloads, a SEND whose body
 * names its realm) and what it expects back (`{status, reason}` for every error), over REST and
 * STOMP against the local runtime. A hand-typed STOMP client (`raw-stomp.ts`), REST with `fetch`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

    expect(await restRealm('session/list', { app: '' })).toMatchObject({
      http: 400,
      status: 400,
      reason: expect.stringMatching(/^app: /),
    });
    expect(await restRealm('stream/metrics', { node: '', mediaId: 'x' })).toMatchObject({
      status: 400,
      reason: expect.stringMatching(/^node: /),
    });
  });
});
