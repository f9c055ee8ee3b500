/**
 * Nothing stays held by an item that is gone, and what the node has holds what it should (issue "The
 * node edge tells the truth", items 5 and 9): in an app that allows one publisher per name, a
 * publisher whose PUBLISHING and FAILED hooks were lost is ended when its node no longer has it (its
 * name freed); a publisher the node has and no hook told of is recorded and takes its name; its real
 * hooks, arriving late, replace what reconciliation wrote. Each step is one `pollNow` run.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

let server: RunningHookServer;
let wcs: FakeWcs;
let rest: FakeWcsRest;
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('holds');
  server = await startHookServer({
    NODE_POLL_INTERVAL_S: '3600',
    RECONCILE_GRACE_S: '0',
    WCS_REST_TIMEOUT_MS: '1000',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ getItem } = await import('../support/tables.ts'));
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
  const appKey = `holds-${randomUUID().slice(0, 6)}`;
  await putAppPolicy(appKey, { admission: 'open', singlePublisher: true });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey, ip: '127.0.98.1' });
  rest = await new FakeWcsRest({ node: wcs, host: '127.0.98.1' }).start();
  await putNodeUrl(wcs.nodeId, rest.url);
}, 60_000);
afterAll(async () => {
  await server.close();
  await rest.close();
});

async function session(): Promise<WcsSession> {
  const s = wcs.newSession();
  expect((await wcs.send('connect', wcs.connectBody(s))).status).toBe(200);
  await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(s, 'ESTABLISHED'));
  return s;
}

const publish = async (s: WcsSession, name: string) => {
  const stream = wcs.newStream(s, name, true);
  return { stream, status: (await wcs.send('publishStream', wcs.streamBody(stream, 'PENDING'))).status };
};

describe('reconciliation and the names publishers hold', () => {
  it('ends an admitted publisher whose later hooks were lost, once its node no longer has it: its name is free', async () => {
    const name = `pending-${randomUUID().slice(0, 6)}`;
    const owner = await session();
    const first = await publish(owner, name);
    expect(first.status).toBe(200);
    expect((await publish(await session(), name)).status).toBe(403);
    // Its PUBLISHING and FAILED hooks never came; the node does not have it.
    await pollNow();
    expect(
      await getItem('streams', { sessionId: owner.sessionId, mediaSessionId: first.stream.mediaSessionId }),
    ).toMatchObject({ info: expect.stringMatching(/^Reconciled by wcs-hooks/) });
    expect((await publish(await session(), name)).status).toBe(200);
  });

  it('records a publisher its node has and no hook told of, with its name held; frees the name when it goes', async () => {
    const name = `found-${randomUUID().slice(0, 6)}`;
    const owner = wcs.newSession();
    const unseen = wcs.newStream(owner, name, true);
    wcs.holdSilently(unseen);
    await pollNow();
    expect(
      await getItem('streams', { sessionId: owner.sessionId, mediaSessionId: unseen.mediaSessionId }),
    ).toMatchObject({ status: 'PUBLISHING', holdsName: true });
    expect((await publish(await session(), name)).status).toBe(403);

    wcs.holdSilently(unseen, false);
    await pollNow();
    expect((await publish(await session(), name)).status).toBe(200);
  });

  it("lets a found stream's real hook, arriving late, replace what reconciliation wrote", async () => {
    const owner = await session();
    const late = wcs.newStream(owner, `late-${randomUUID().slice(0, 6)}`, true);
    wcs.holdSilently(late);
    await pollNow();
    const key = { sessionId: owner.sessionId, mediaSessionId: late.mediaSessionId };
    expect(await getItem('streams', key)).toMatchObject({
      info: expect.stringMatching(/^Found by wcs-hooks/),
    });
    await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(late, 'PUBLISHING', { info: 'Started by the client' }),
    );
    const item = await getItem('streams', key);
    expect(item).toMatchObject({ status: 'PUBLISHING', info: 'Started by the client', videoCodec: 'H264' });
    expect(item?.provisional).toBeUndefined();
  });
});
