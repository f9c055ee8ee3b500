/**
 * Nodes are known, not claimed (issue "The node edge tells the truth", item 1), without signed
 * hooks (no `WCS_HOOK_SECRET`, `npm start`'s default): a hook, which anyone can send, never makes
 * wcs-hooks send a request, nor the WCS REST credentials, to the address its `nodeId` names; only
 * `nodes put` does. A fake node listens at that address's default URL to see that nothing arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

let server: RunningHookServer;
let rest: FakeWcsRest;
let wcs: FakeWcs;
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let getNode: typeof import('../../shared/state/monitoring.ts').getNode;

beforeAll(async () => {
  await useOwnTables('unsigned');
  server = await startHookServer({
    NODE_POLL_INTERVAL_S: '3600',
    WCS_REST_TIMEOUT_MS: '1000',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    WCS_REST_USERNAME: 'wcs-hooks',
    WCS_REST_PASSWORD: 'not-for-strangers',
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ getNode } = await import('../../shared/state/monitoring.ts'));
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'claimed', ip: '127.0.71.1' });
  rest = await new FakeWcsRest({ node: wcs, host: '127.0.71.1', port: 8081 }).start();
}, 60_000);
afterAll(async () => {
  await server.close();
  await rest.close();
});

describe('without signed hooks (NODE_DISCOVERY=signed, the default)', () => {
  it('a hook makes its node known, never asked: no request and no credentials leave', async () => {
    const s = wcs.newSession();
    expect((await wcs.send('connect', wcs.connectBody(s))).status).toBe(200);
    await pollNow();
    await pollNow();
    expect(rest.requests).toBe(0);
    expect(await getNode(wcs.nodeId)).toMatchObject({
      state: 'not-asked',
      stateReason: expect.stringMatching(/not registered and no signed hook has named it/),
    });
    expect((await getNode(wcs.nodeId))?.signedHookAt).toBeUndefined();
  });

  it('a send to a session on such a node is refused, with what to do, and nothing is sent', async () => {
    const s = wcs.newSession();
    await wcs.send('connect', wcs.connectBody(s));
    const { sendNow } = await import('../../shared/sender/sender.ts');
    const summary = (await sendNow({ sessionId: s.sessionId }, { hello: 'world' })) as unknown as {
      results: { outcome: string; reason?: string }[];
    };
    expect(JSON.stringify(summary)).toMatch(/FAILED/);
    expect(JSON.stringify(summary)).toMatch(/nodes put 127\.0\.71\.1/);
    expect(rest.requests).toBe(0);
  });

  it('an operator registering it (nodes put) makes it asked', async () => {
    const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
    await putNodeUrl('127.0.71.1', rest.url);
    await pollNow();
    expect(rest.requests).toBeGreaterThan(0);
    expect((await getNode(wcs.nodeId))?.state).toBe('up');
  });
});
