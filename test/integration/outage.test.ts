/**
 * No lost hooks: DynamoDB goes away mid-run. Event hooks sent during the outage are still answered
 * 200 (WCS does not resend events, so a failure would lose them), kept in the local spill, and
 * written once DynamoDB is back: every one of them, exactly once.
 *
 * This test runs its own DynamoDB Local, on disk, so that it can stop and restart it without
 * disturbing the other tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  freePort,
  type RunningDynamoDbLocal,
  startDynamoDbLocalWithTables,
} from '../../infra/local/dynamodb-local.ts';
import { TEST_TABLE_PREFIX } from '../support/constants.ts';
import { FakeWcs, type WcsStream } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'wcs-hooks-outage-'));
let port: number;
let dynamo: RunningDynamoDbLocal;
let server: RunningHookServer;
let wcs: FakeWcs;

async function startDynamo() {
  dynamo = await startDynamoDbLocalWithTables({
    port,
    dataDir: join(dataDir, 'db'),
    tablePrefix: TEST_TABLE_PREFIX,
  });
}

beforeAll(async () => {
  port = await freePort();
  await startDynamo();
  server = await startHookServer(
    {
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
      SPILL_DIR: join(dataDir, 'spill'),
      EVENT_BUDGET_MS: '1500',
      DYNAMODB_REQUEST_TIMEOUT_MS: '500',
      DYNAMODB_CONNECT_TIMEOUT_MS: '300',
    },
    { drainSpillEveryMs: 250 },
  );
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'outage' });
}, 120_000);
afterAll(async () => {
  await server.close();
  await dynamo.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('an outage of DynamoDB', () => {
  it('loses no event: each is answered, spilled, and written exactly once when DynamoDB is back', async () => {
    const { getItem, historyOf, queryBy } = await import('../support/tables.ts');
    const { streamKey } = await import('../../shared/state/streams.ts');
    const session = wcs.newSession();
    const streams: WcsStream[] = Array.from({ length: 5 }, (_, i) =>
      wcs.newStream(session, `outage-${i}`, true),
    );
    // Before: the session and the streams begin normally.
    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
    for (const s of streams)
      expect((await wcs.send('StreamStatusEvent', wcs.streamBody(s, 'PUBLISHING'))).status).toBe(200);

    await dynamo.stop();

    // During: every end, a catch-all event and the disconnect, some sent twice (WCS retries).
    const during = [
      ...streams.map(
        (s) =>
          [
            'StreamStatusEvent',
            wcs.streamBody(s, 'UNPUBLISHED', { info: 'Stopped by publisher stop' }),
          ] as const,
      ),
      ['CallStatusEvent', { ...session, callId: 'c1', status: 'FINISH' }] as const,
      ['ErrorEvent', { ...session, info: 'Failed by error' }] as const,
      [
        'StreamStatusEvent',
        wcs.streamBody(streams[0] as WcsStream, 'UNPUBLISHED', { info: 'Stopped by publisher stop' }),
      ] as const,
      [
        'ConnectionStatusEvent',
        wcs.connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
      ] as const,
    ];
    const replies = await Promise.all(during.map(([method, body]) => wcs.send(method, body)));
    expect(replies.map((r) => r.status)).toEqual(during.map(() => 200));

    await startDynamo();

    // After: all of it reaches the tables.
    await eventually(async () => {
      const item = await getItem('sessions', { sessionId: session.sessionId });
      return item?.status === 'DISCONNECTED' ? item : undefined;
    });
    for (const s of streams) {
      const item = await eventually(async () => {
        const found = await getItem('streams', streamKey(s));
        return found?.status === 'UNPUBLISHED' ? found : undefined;
      });
      expect(historyOf(item)).toEqual(['PUBLISHING', 'UNPUBLISHED']);
      expect(item.info).toBe('Stopped by publisher stop');
    }
    const events = await eventually(async () => {
      const found = await queryBy('events', 'sessionId', session.sessionId);
      return found.length >= 2 ? found : undefined;
    });
    expect(events.map((e) => e.method).sort()).toEqual(['CallStatusEvent', 'ErrorEvent']);
    const sessionItem = await getItem('sessions', { sessionId: session.sessionId });
    expect(historyOf(sessionItem)).toEqual(['PENDING', 'DISCONNECTED']);
    expect(sessionItem?.info).toBe('Normal disconnect');
  }, 120_000);
});
