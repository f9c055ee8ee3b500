/**
 * Reconciliation interleaved with hooks (fast-check property): sessions and their streams start and
 * end on a fake WCS node while any of their hooks may be lost, and reconciliations run at any point
 * between them. After every reconciliation, what this backend holds open and live is what the node
 * holds; a real hook that comes after a reconciliation is never undone by it (an ended session or
 * stream stays ended, a found one is the one the node has). With no grace period, so that each
 * reconciliation must converge at once. `PROPERTY_RUNS` sets the number of runs (default 20).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
let server: RunningHookServer;
let wcs: FakeWcs;
let rest: FakeWcsRest;
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('rprop');
  server = await startHookServer({ RECONCILE_GRACE_S: '0', NODE_POLL_INTERVAL_S: '3600' }, { poller: false });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'reconcile-property', ip: '127.0.20.1' });
  rest = await new FakeWcsRest({ node: wcs }).start();
  const { putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts');
  await putNodeUrl(wcs.nodeId, rest.url);
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  // The node is known from its hooks: one session's, before any property run.
  await wcs.send('connect', wcs.connectBody(wcs.newSession()));
  ({ getItem } = await import('../support/tables.ts'));
}, 60_000);
afterAll(async () => {
  await server.close();
  await rest.close();
});

type Op =
  | { readonly kind: 'start'; readonly slot: number; readonly lost: boolean }
  | { readonly kind: 'endStream' | 'endSession'; readonly slot: number; readonly lost: boolean }
  | { readonly kind: 'reconcile' };

const SLOTS = 3;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), slot: fc.nat(SLOTS - 1), lost: fc.boolean() }),
  fc.record({
    kind: fc.constantFrom('endStream' as const, 'endSession' as const),
    slot: fc.nat(SLOTS - 1),
    lost: fc.boolean(),
  }),
  fc.constant({ kind: 'reconcile' as const }),
);

/** One slot: a session with one published stream, as the node holds it. */
interface Slot {
  session: WcsSession;
  stream: WcsStream;
}

/** What this backend holds of `slots`' sessions and streams: open and live ones, by id. */
async function believed(slots: readonly Slot[]) {
  const sessions: string[] = [];
  const streams: string[] = [];
  for (const { session, stream } of slots) {
    const s = await getItem('sessions', { sessionId: session.sessionId });
    if (s && !s.endedAt) sessions.push(session.sessionId);
    const m = await getItem('streams', {
      sessionId: session.sessionId,
      mediaSessionId: stream.mediaSessionId,
    });
    if (m?.liveShard !== undefined) streams.push(stream.mediaSessionId);
  }
  return { sessions: sessions.sort(), streams: streams.sort() };
}

function truth(slots: readonly Slot[]) {
  return {
    sessions: slots
      .map((s) => s.session.sessionId)
      .filter((id) => wcs.heldSessions.has(id))
      .sort(),
    streams: slots
      .map((s) => s.stream.mediaSessionId)
      .filter((id) => wcs.liveStreams.has(id))
      .sort(),
  };
}

describe('reconciliation among hooks, any of them lost', () => {
  it('leaves what the node holds after every reconciliation, and never undoes a later real hook', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const slots: (Slot | undefined)[] = Array.from({ length: SLOTS });
        const used: Slot[] = [];
        for (const step of ops) {
          if (step.kind === 'reconcile') {
            await pollNow();
            expect(await believed(used)).toEqual(truth(used));
            continue;
          }
          const slot = slots[step.slot];
          if (step.kind === 'start') {
            if (slot && wcs.heldSessions.has(slot.session.sessionId)) continue;
            const session = wcs.newSession();
            const stream = wcs.newStream(session, `p-${randomUUID().slice(0, 8)}`, true);
            const fresh = { session, stream };
            slots[step.slot] = fresh;
            used.push(fresh);
            if (step.lost) {
              wcs.holdSilently(stream);
            } else {
              await wcs.send('connect', wcs.connectBody(session));
              await wcs.goLive(stream);
            }
          } else if (slot && step.kind === 'endStream' && wcs.liveStreams.has(slot.stream.mediaSessionId)) {
            if (step.lost) wcs.holdSilently(slot.stream, false);
            else await wcs.end(slot.stream);
          } else if (slot && step.kind === 'endSession' && wcs.heldSessions.has(slot.session.sessionId)) {
            const stillLive = wcs.liveStreams.has(slot.stream.mediaSessionId);
            if (step.lost) wcs.dropSilently(slot.session);
            else {
              if (stillLive) await wcs.end(slot.stream);
              await wcs.disconnect(slot.session);
            }
          }
        }
        await pollNow();
        expect(await believed(used)).toEqual(truth(used));
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});
