/**
 * The player limit under contention: DynamoDB cancels a transaction that collides with another on
 * the same item (`TransactionConflict`), which is what many viewers joining one stream at its limit
 * cause. A conflict is retried, never read as "the limit is reached": with a share of the
 * transactions answered as conflicts (`conflict-proxy.ts`: each at most 3 times, fewer than the
 * retries, as when contention is brief), 10 viewers joining at once for 10 places are all
 * admitted, the 30 after them all refused, and the count ends exact. (Contention that outlasts the
 * retries is a dependency failure, answered by the fail mode: an 11th viewer may then get in. With
 * a 30 % rate and no cap, a transaction conflicted 7 times in a row about once in 4,500, which made
 * this test fail about once in 15 runs.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ConflictProxy, startConflictProxy } from '../support/conflict-proxy.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

let proxy: ConflictProxy;
let server: RunningHookServer;
// Imported once the server has pointed the DynamoDB client at the proxy (see refusal-deadline.test.ts).
let putAppPolicy: typeof import('../../shared/state/apps.ts').putAppPolicy;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  proxy = await startConflictProxy(process.env.DYNAMODB_ENDPOINT as string);
  server = await startHookServer({ DYNAMODB_ENDPOINT: proxy.endpoint });
  ({ putAppPolicy } = await import('../../shared/state/apps.ts'));
  ({ getItem } = await import('../support/tables.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  await proxy.close();
});

describe('joins at the player limit with transactions that conflict', () => {
  it.each([1, 2, 3])('admit exactly the limit and refuse exactly the rest (run %i)', async () => {
    const limit = 10;
    const app = `conflict-${randomUUID().slice(0, 8)}`;
    await putAppPolicy(app, { admission: 'open', maxPlayersPerStream: limit });
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const sessions = Array.from({ length: 40 }, () => wcs.newSession());
    for (const session of sessions)
      expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
    const name = `contended-${randomUUID().slice(0, 6)}`;
    const conflictsBefore = proxy.conflicts;

    proxy.conflictRate = 0.3;
    // Right at the limit: as many viewers as places, all at once; then as many again, over it.
    const join = (group: typeof sessions) =>
      Promise.all(
        group.map((s) => wcs.send('playStream', wcs.streamBody(wcs.newStream(s, name, false), 'PENDING'))),
      );
    const atLimit = await join(sessions.slice(0, limit));
    const overLimit = await join(sessions.slice(limit));
    proxy.conflictRate = 0;

    expect(proxy.conflicts).toBeGreaterThan(conflictsBefore);
    expect(atLimit.map((r) => r.status)).toEqual(Array(limit).fill(200));
    expect(overLimit.map((r) => r.status)).toEqual(Array(40 - limit).fill(403));
    expect((await getItem('streamNames', { appKey: app, name }))?.playerCount).toBe(limit);
  });
});
