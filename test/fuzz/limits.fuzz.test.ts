/**
 * Values at and past each limit DynamoDB puts on what it stores, through the real HTTP path: keys
 * just under and just over their byte limits (in multi-byte characters), numbers past 2^53 and
 * outside DynamoDB's range, a history of ever new statuses, a user id too long for an index key.
 * Invariants: never a 5xx (a 500 is not spilled and loses an event); a decision answers 400 for
 * what it cannot store as given and writes nothing; an event is always answered 200 and stored,
 * whole or as a raw event.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import { LIMITS } from '../../shared/kernel/schemas.ts';
import { putAppPolicy } from '../../shared/state/apps.ts';
import { UNKNOWN_STATUSES_KEPT } from '../../shared/state/lifecycle.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { expectOnlyRefused, getItem, queryBy } from '../support/tables.ts';
import { HS256_SECRET } from '../support/tokens.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer();
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: `limits-${randomUUID().slice(0, 6)}` });
});
afterAll(() => server.close());

/** A string of exactly `bytes` UTF-8 bytes, in 3-byte and 1-byte characters (a unique prefix first). */
function ofBytes(bytes: number): string {
  const prefix = randomUUID().slice(0, 8);
  const rest = bytes - prefix.length;
  return prefix + '€'.repeat(Math.floor(rest / 3)) + 'x'.repeat(rest % 3);
}

const IDENTIFIERS = ['nodeId', 'appKey', 'sessionId', 'mediaSessionId', 'name'] as const;

describe('identifiers at and past their byte limits', () => {
  it('make a decision answer 200 or a clear 400, and an event 200, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...IDENTIFIERS),
        fc.integer({ min: -3, max: 3 }),
        fc.constantFrom('publishStream', 'StreamStatusEvent', 'StreamKeepAliveEvent', 'unPublishStream'),
        async (field, delta, method) => {
          const value = ofBytes(LIMITS[field] + delta);
          // A session is on the node of its first hook: the node under test is the session's own.
          const session = { ...wcs.newSession(), ...(field === 'nodeId' && { nodeId: value }) };
          await wcs.send('connect', wcs.connectBody(session));
          const stream = wcs.newStream(session, `limit-${randomUUID().slice(0, 6)}`, true);
          const body = {
            ...wcs.streamBody(stream, method === 'publishStream' ? 'PENDING' : 'PUBLISHING'),
            [field]: value,
          };

          const reply = await wcs.send(method, body);

          expect(reply.status).toBeLessThan(500);
          if (method === 'publishStream') {
            expect(reply.status).toBe(delta <= 0 ? 200 : 400);
            if (delta > 0) expect(reply.json?.details).toEqual([expect.objectContaining({ field })]);
          } else {
            expect(reply.status).toBe(200);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describe('numbers', () => {
  it.each([2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, -1e300, 5e-324, 1e-200, 1e126, 0])(
    '%p in a stream event is stored, as a number if DynamoDB holds it, else as its text',
    async (n) => {
      const stream = wcs.newStream(wcs.newSession(), `number-${randomUUID().slice(0, 6)}`, true);
      // JSON text, as WCS (Java) writes it: the number's digits, not a JavaScript rounding of them.
      const raw = JSON.stringify(wcs.streamBody(stream, 'PUBLISHING')).replace('"width":640', `"width":${n}`);

      const reply = await wcs.sendRaw('StreamStatusEvent', raw);

      expect(reply.status).toBe(200);
      const item = await getItem('streams', streamKey(stream));
      expect(item?.status).toBe('PUBLISHING');
      expect([n, String(n)]).toContainEqual(item?.width);
    },
  );
});

describe('a status history', () => {
  it(`keeps ${UNKNOWN_STATUSES_KEPT} statuses WCS may add, counts the rest, and never outgrows an item`, async () => {
    const stream = wcs.newStream(wcs.newSession(), `history-${randomUUID().slice(0, 6)}`, true);
    const info = 'i'.repeat(8000);
    await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));

    const statuses = Array.from({ length: 60 }, (_, i) => `NEW_STATUS_${i}_${'s'.repeat(40)}`);
    for (const status of statuses) {
      const reply = await wcs.send('StreamStatusEvent', wcs.streamBody(stream, status, { info }));
      expect(reply.status).toBe(200);
    }
    const ended = await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED'));

    expect(ended.status).toBe(200);
    const item = await getItem('streams', streamKey(stream));
    expect(item?.status).toBe('UNPUBLISHED');
    expect((item?.statusHistory as unknown[] | undefined)?.length).toBe(2 + UNKNOWN_STATUSES_KEPT);
    expect(item?.historyDropped).toBe(60 - UNKNOWN_STATUSES_KEPT);
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(100_000);
  }, 60_000);
});

describe('a client JSON too large to keep with the rest of an item', () => {
  it('is left out with its size, and the hooks after it are written', async () => {
    const stream = wcs.newStream(wcs.newSession(), `custom-${randomUUID().slice(0, 6)}`, true);
    const big = { blob: 'c'.repeat(200 * 1024) };

    const first = await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING', { custom: big }));
    const second = await wcs.send(
      'StreamStatusEvent',
      wcs.streamBody(stream, 'UNPUBLISHED', { custom: big }),
    );

    expect([first.status, second.status]).toEqual([200, 200]);
    const item = await getItem('streams', streamKey(stream));
    expect(item).toMatchObject({ status: 'UNPUBLISHED', customOmittedBytes: JSON.stringify(big).length });
    expect(item?.custom).toBeUndefined();
  });
});

describe('a token whose user id is too long for an index key', () => {
  it('is refused with 403 and a reason, and no session is recorded (only the refusal, without the user id)', async () => {
    const app = `limits-token-${randomUUID().slice(0, 6)}`;
    await putAppPolicy(app, { admission: 'token', hs256Secret: HS256_SECRET });
    const node = new FakeWcs({ appUrl: server.appUrl, appKey: app });
    const session = node.newSession();
    const token = await issueClientToken(HS256_SECRET, { sub: ofBytes(400), aud: app }, 300);

    const reply = await node.send('connect', node.connectBody(session, { custom: { token } }));

    expect(reply.status).toBe(403);
    expect(reply.json?.message).toMatch(/subject \(sub\) is longer than 256 bytes/);
    await expectOnlyRefused('sessions', { sessionId: session.sessionId }, /longer than 256 bytes/);
    expect(await getItem('sessions', { sessionId: session.sessionId })).not.toHaveProperty('userId');
  });
});

describe('an unidentifiable event with keys too long to store', () => {
  it('is kept as a raw event under no session, and says 200', async () => {
    const sessionId = ofBytes(LIMITS.sessionId + 1);
    const marker = randomUUID();

    const reply = await wcs.send('CallStatusEvent', { sessionId, nodeId: 'n@127.0.0.1', marker });

    expect(reply.status).toBe(200);
    const kept = (await queryBy('events', 'sessionId', '-')).filter((e) => String(e.body).includes(marker));
    expect(kept).toHaveLength(1);
  });
});
