/**
 * `DEFAULT_APP_POLICY`: the policy of every app that has none of its own. Read once, when the
 * functions load, as a deployed function reads its configuration: this file starts its own server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

let server: RunningHookServer;
beforeAll(async () => {
  server = await startHookServer({ DEFAULT_APP_POLICY: 'closed' });
});
afterAll(() => server.close());

describe('DEFAULT_APP_POLICY=closed', () => {
  it('refuses a connect to an app without a policy, and admits one to an app whose policy is open', async () => {
    const plain = new FakeWcs({ appUrl: server.appUrl, appKey: `no-policy-${randomUUID().slice(0, 8)}` });
    const openApp = `open-${randomUUID().slice(0, 8)}`;
    // Imported only now: the module reads DEFAULT_APP_POLICY when it loads, as the functions do.
    const { putAppPolicy } = await import('../../shared/state/apps.ts');
    await putAppPolicy(openApp, { admission: 'open' });
    const open = new FakeWcs({ appUrl: server.appUrl, appKey: openApp });

    const refused = await plain.send('connect', plain.connectBody(plain.newSession()));
    const admitted = await open.send('connect', open.connectBody(open.newSession()));

    expect(refused.status).toBe(403);
    expect(refused.json?.message).toMatch(/admits no client/);
    expect(admitted.status).toBe(200);
  });
});
