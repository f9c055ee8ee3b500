/**
 * A refusal writes nothing, whenever it comes. With a DynamoDB slowed down past the decision budget,
 * 200 publishers race for one name and connects keep coming: every decision is answered by its fail
 * mode (closed: 403), while the writes the abandoned decisions had sent still land afterwards. Once
 * the database is fast again and the refusals are recorded (spilled, then replayed), none of those
 * writes counts: no refused publisher holds the name (the next one gets it), no refused connect is
 * an open session.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeWcs, type WcsSession } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { type SlowProxy, startSlowProxy } from '../support/slow-proxy.ts';

// Imported once the server has pointed the DynamoDB client at the proxy (it is made when first
// imported, and the functions share it): nothing here may import the store before that.
let putAppPolicy: typeof import('../../shared/state/apps.ts').putAppPolicy;
let streamKey: typeof import('../../shared/state/streams.ts').streamKey;
let getItem: typeof import('../support/tables.ts').getItem;

const BUDGET_MS = 800;
let proxy: SlowProxy;
let server: RunningHookServer;

beforeAll(async () => {
  proxy = await startSlowProxy(process.env.DYNAMODB_ENDPOINT as string);
  server = await startHookServer(
    {
      DYNAMODB_ENDPOINT: proxy.endpoint,
      DECISION_BUDGET_MS: String(BUDGET_MS),
      DYNAMODB_REQUEST_TIMEOUT_MS: '10000',
      SPILL_DIR: mkdtempSync(join(tmpdir(), 'refusal-spill-')),
    },
    { drainSpillEveryMs: 200 },
  );
  ({ putAppPolicy } = await import('../../shared/state/apps.ts'));
  ({ streamKey } = await import('../../shared/state/streams.ts'));
  ({ getItem } = await import('../support/tables.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  await proxy.close();
});

async function eventually<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('with a DynamoDB slower than the decision budget', () => {
  it('admits at most one of 200 racing publishers, and leaves the name held by no refused one', async () => {
    const app = `race-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(app, { admission: 'open', singlePublisher: true });
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const sessions: WcsSession[] = [];
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const session = wcs.newSession();
          sessions.push(session);
          expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
        }),
      );
    }
    const name = `contested-${randomUUID().slice(0, 6)}`;
    const publishers = sessions.map((s) => wcs.newStream(s, name, true));
    const connects = Array.from({ length: 20 }, () => wcs.newSession());

    // Each way slower than the whole budget: every decision misses it, its writes land after.
    proxy.delayMs = 2 * BUDGET_MS;
    const [publishReplies, connectReplies] = await Promise.all([
      Promise.all(publishers.map((p) => wcs.send('publishStream', wcs.streamBody(p, 'PENDING')))),
      Promise.all(connects.map((s) => wcs.send('connect', wcs.connectBody(s)))),
    ]);
    proxy.delayMs = 0;

    const admitted = publishers.filter((_, i) => publishReplies[i]?.status === 200);
    expect(publishReplies.every((r) => r.status === 200 || r.status === 403)).toBe(true);
    expect(admitted.length).toBeLessThanOrEqual(1);
    expect(connectReplies.map((r) => r.status)).toEqual(connects.map(() => 403));

    // Every refusal is recorded, however late the abandoned decisions' writes landed.
    for (const [i, publisher] of publishers.entries()) {
      if (publishReplies[i]?.status !== 403) continue;
      let last: unknown;
      await eventually(async () => {
        last = await getItem('streams', streamKey(publisher));
        return (last as { status?: string } | undefined)?.status === 'FAILED';
      }).catch((error: Error) => {
        throw new Error(
          `${error.message}: ${JSON.stringify(publishReplies[i]?.json)} ${JSON.stringify(last)}`,
        );
      });
    }
    for (const session of connects) {
      const item = await eventually(async () => {
        const found = await getItem('sessions', { sessionId: session.sessionId });
        return found?.status === 'FAILED' ? found : undefined;
      });
      expect(item.openAppKey).toBeUndefined();
    }
    // No refused publisher holds the name: with none admitted, the next publisher gets it.
    const next = wcs.newStream(wcs.newSession(), name, true);
    await wcs.send('connect', wcs.connectBody({ ...next }));
    const reply = await wcs.send('publishStream', wcs.streamBody(next, 'PENDING'));
    expect(reply.status).toBe(admitted.length === 0 ? 200 : 403);
  }, 120_000);
});
