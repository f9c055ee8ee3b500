/**
 * Nodes are known, not claimed (issue "The node edge tells the truth", item 1), with signed hooks
 * (`WCS_HOOK_SECRET`): a hook whose signature is verified vouches for the node it names, which the
 * poller then asks at its default URL (`http://<ip>:8081/rest-api`) with the WCS REST credentials,
 * but only inside the allowed networks (here loopback only: a node named at a private address is
 * never asked anything).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

const SECRET = 'discovery-secret';
const CREDENTIALS = { username: 'wcs-hooks', password: 'rest-password' };
let server: RunningHookServer;
const rests: FakeWcsRest[] = [];
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let getNode: typeof import('../../shared/state/monitoring.ts').getNode;

beforeAll(async () => {
  await useOwnTables('discovery');
  server = await startHookServer({
    WCS_HOOK_SECRET: SECRET,
    NODE_POLL_INTERVAL_S: '3600',
    RECONCILE_GRACE_S: '0',
    WCS_REST_TIMEOUT_MS: '1000',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    WCS_REST_USERNAME: CREDENTIALS.username,
    WCS_REST_PASSWORD: CREDENTIALS.password,
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ getNode } = await import('../../shared/state/monitoring.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  for (const rest of rests) await rest.close();
});

describe('with signed hooks (NODE_DISCOVERY=signed, the default)', () => {
  it('a signed hook vouches for its node: asked at http://<ip>:8081/rest-api with the credentials', async () => {
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'signed', ip: '127.0.70.1', secret: SECRET });
    const rest = await new FakeWcsRest({
      node: wcs,
      host: '127.0.70.1',
      port: 8081,
      credentials: CREDENTIALS,
    }).start();
    rests.push(rest);
    const s = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(s))).status).toBe(200);
    await pollNow();
    expect(rest.findAllRequests).toBeGreaterThan(0);
    expect(await getNode(wcs.nodeId)).toMatchObject({ state: 'up', signedHookAt: expect.any(Number) });
  });

  it('a signed hook naming a node outside the allowed networks makes it known, never asked', async () => {
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'signed', ip: '10.1.2.3', secret: SECRET });
    expect((await wcs.send('connect', wcs.connectBody(wcs.newSession()))).status).toBe(200);
    await pollNow();
    expect(await getNode(wcs.nodeId)).toMatchObject({
      state: 'not-asked',
      stateReason: expect.stringMatching(
        /node 10\.1\.2\.3 is outside the allowed networks \(WCS_ALLOWED_NETWORKS\)/,
      ),
    });
  });

  it('an unsigned hook is refused, and makes no node known', async () => {
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'unsigned', ip: '127.0.70.2' });
    expect((await wcs.send('connect', wcs.connectBody(wcs.newSession()))).status).toBe(403);
    expect(await getNode(wcs.nodeId)).toBeUndefined();
  });
});
