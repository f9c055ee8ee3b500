/**
 * Order-independence (fast-check property): for generated lifecycles of sessions and streams, the
 * hooks delivered in any order, with duplicates, copies from another node and what reconciliation
 * finds (provisional), leave the same state in DynamoDB as in-order delivery, and no terminal state
 * is ever undone along the way. A later connection under the ended session's id then starts a new
 * generation that no hook of the earlier one, replayed late, changes. Hooks go through the real
 * HTTP path; what reconciliation records, through the recorders it calls. `PROPERTY_RUNS` sets the
 * number of runs (default 20).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { recorderByMethod } from '../../shared/state/recorders.ts';
import { recordUnseenSession } from '../../shared/state/sessions.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { type Lifecycle, lifecycle } from '../support/lifecycle.ts';
import { getItem } from '../support/tables.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
let server: RunningHookServer;
let wcs: FakeWcs;
/** Another node of the cluster, whose copies of the hooks are not the items'. */
let other: FakeWcs;
const record = recorderByMethod();

beforeAll(async () => {
  server = await startHookServer();
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'order' });
  other = new FakeWcs({ appUrl: server.appUrl, appKey: 'order', ip: '127.0.0.2' });
});
afterAll(() => server.close());

type Hook = readonly [method: string, body: Record<string, unknown>];

/** The hooks of `life` for a session, in the order WCS sends them. */
function hooksOf(life: Lifecycle, session: WcsSession, streams: WcsStream[]): Hook[] {
  const hooks: Hook[] = [
    ['connect', wcs.connectBody(session)],
    ['ConnectionStatusEvent', wcs.connectionStatusBody(session, 'ESTABLISHED')],
  ];
  life.streams.forEach((spec, i) => {
    const stream = streams[i] as WcsStream;
    const live = spec.published ? 'PUBLISHING' : 'PLAYING';
    const ended = spec.published ? 'UNPUBLISHED' : 'STOPPED';
    hooks.push(['StreamStatusEvent', wcs.streamBody(stream, live)]);
    if (spec.keepAlive) hooks.push(['StreamKeepAliveEvent', wcs.streamBody(stream, live)]);
    if (spec.end.startsWith('FAILED'))
      hooks.push(['StreamStatusEvent', wcs.streamBody(stream, 'FAILED', { info: 'Failed by ICE error' })]);
    if (spec.end === 'normal' || spec.end === 'FAILED+normal') {
      hooks.push([spec.published ? 'unPublishStream' : 'stopStream', wcs.streamBody(stream, live)]);
      hooks.push(['StreamStatusEvent', wcs.streamBody(stream, ended, { info: 'Stopped by user' })]);
    }
  });
  if (life.sessionEnd.startsWith('FAILED'))
    hooks.push(['ConnectionStatusEvent', wcs.connectionStatusBody(session, 'FAILED', 'Failed by error')]);
  if (life.sessionEnd.endsWith('DISCONNECTED'))
    hooks.push([
      'ConnectionStatusEvent',
      wcs.connectionStatusBody(session, 'DISCONNECTED', 'Normal disconnect'),
    ]);
  return hooks;
}

/** The state to compare: what the hooks said, without receive times or the ids that differ. */
function comparable(item: Record<string, unknown> | undefined) {
  if (!item) return undefined;
  const {
    sessionId,
    mediaSessionId,
    liveKey,
    openKey,
    firstStatusAt,
    historyDay,
    lastStatusAt,
    endedAt,
    endDetectedAt,
    firstSeenBy,
    expiresAt,
    connectedAt,
    lastKeepAliveAt,
    stopRequestedAt,
    statusHistory,
    seenStatuses,
    ...rest
  } = item;
  return {
    ...rest,
    // What reconciliation found stays in the history as found; the rest is what WCS reported.
    history: ((statusHistory as { status: string; info?: string; provisional?: true }[]) ?? [])
      .filter((e) => !e.provisional)
      .map((e) => `${e.status}:${e.info ?? ''}`)
      .sort(),
    stopRequested: stopRequestedAt !== undefined,
  };
}

async function stateOf(session: WcsSession, streams: WcsStream[]) {
  return {
    session: comparable(await getItem('sessions', { sessionId: session.sessionId })),
    streams: await Promise.all(streams.map(async (s) => comparable(await getItem('streams', streamKey(s))))),
  };
}

const TERMINAL = new Set(['UNPUBLISHED', 'STOPPED', 'FAILED', 'DISCONNECTED']);

/** One delivery: a hook over HTTP, or what reconciliation records when it finds an item on its node. */
type Delivery = { readonly hook: Hook } | { readonly found: 'session' | WcsStream };

/** The item a hook is about: its stream's media session, or its session. */
const itemOf = (hook: Hook) => String(hook[1].mediaSessionId ?? hook[1].sessionId);
const endsSession = ([method, body]: Hook) =>
  method === 'ConnectionStatusEvent' && (body.status === 'DISCONNECTED' || body.status === 'FAILED');

/**
 * `hooks` in the order `keys` give them, except that no `connect` comes after the session's end:
 * WCS sends it, and waits for its answer, before the session exists (reference §1.2), and retries
 * it only while it is unanswered; a connect after the end is a later connection under the same id
 * (a new generation: see below and identity.test.ts).
 */
function shuffled(hooks: readonly Hook[], keys: fc.Stream<number>): Hook[] {
  const order = hooks
    .map((hook, i) => ({ hook, key: keys.next().value as number, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((o) => o.hook);
  const end = order.findIndex(endsSession);
  if (end < 0) return order;
  const before = order.slice(0, end);
  const after = order.slice(end);
  return [...before, ...after.filter(([m]) => m === 'connect'), ...after.filter(([m]) => m !== 'connect')];
}

/**
 * `order` with copies of some of its hooks as another node sends them, each after the first hook of
 * its item (the node of an item is that of its first hook), and reconciliation's findings anywhere.
 */
function withStrangers(
  order: readonly Hook[],
  copies: readonly (readonly [number, number])[],
  found: readonly (readonly [number, number])[],
  streams: readonly WcsStream[],
): Delivery[] {
  const deliveries: Delivery[] = order.map((hook) => ({ hook }));
  const events = order.filter(([method]) => method !== 'connect');
  for (const [pick, at] of copies) {
    if (events.length === 0) break;
    const [method, body] = events[pick % events.length] as Hook;
    const first = deliveries.findIndex((d) => 'hook' in d && itemOf(d.hook) === itemOf([method, body]));
    const position = first + 1 + (at % (deliveries.length - first));
    deliveries.splice(position, 0, { hook: [method, { ...body, nodeId: other.nodeId }] });
  }
  for (const [pick, at] of found) {
    const what =
      pick % (streams.length + 1) === streams.length
        ? 'session'
        : (streams[pick % (streams.length + 1)] as WcsStream);
    deliveries.splice(at % (deliveries.length + 1), 0, { found: what });
  }
  return deliveries;
}

/** Delivers `delivery` for `session`: a hook answered 200, or a finding recorded as reconciliation records it. */
async function deliver(delivery: Delivery, session: WcsSession): Promise<void> {
  if ('hook' in delivery) {
    expect((await wcs.send(delivery.hook[0], delivery.hook[1])).status).toBe(200);
  } else if (delivery.found === 'session') {
    await recordUnseenSession(session, 'reconciliation', new Date(), { provisional: true });
  } else {
    const stream = delivery.found;
    const live = stream.published ? 'PUBLISHING' : 'PLAYING';
    await record(wcs.streamBody(stream, live, { info: 'Found by wcs-hooks reconciliation' }), {
      method: 'StreamStatusEvent',
      receivedAt: new Date(),
      provisional: true,
      digest: `found-${randomUUID()}`,
    });
  }
}

const pairs = fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 });

describe('hooks in any order, with duplicates, copies from another node and findings', () => {
  it('leave the state in-order delivery leaves, and never undo a terminal state; a later connection under the id is a generation of its own', async () => {
    await fc.assert(
      fc.asyncProperty(
        lifecycle,
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 4 }),
        pairs,
        pairs,
        async (life, shuffle, duplicates, copies, found) => {
          const make = () => {
            const session = wcs.newSession();
            return {
              session,
              streams: life.streams.map((s, i) =>
                wcs.newStream(session, `order-${i}-${randomUUID().slice(0, 4)}`, s.published),
              ),
            };
          };
          const ordered = make();
          const reordered = make();
          // Same names for both, so the states compare.
          const streamsB = reordered.streams.map((s, i) => ({
            ...s,
            name: (ordered.streams[i] as WcsStream).name,
          }));

          for (const [method, body] of hooksOf(life, ordered.session, ordered.streams)) {
            expect((await wcs.send(method, body)).status).toBe(200);
          }

          const hooks = hooksOf(life, reordered.session, streamsB);
          for (const d of duplicates) if (hooks.length > 0) hooks.push(hooks[d % hooks.length] as Hook);
          const deliveries = withStrangers(shuffled(hooks, shuffle), copies, found, streamsB);
          const ended = new Set<string>();
          for (const delivery of deliveries) {
            await deliver(delivery, reordered.session);
            // Once terminal, always terminal.
            const now = await stateOf(reordered.session, streamsB);
            for (const [id, item] of [
              ['session', now.session],
              ...now.streams.map((s, i) => [`stream${i}`, s] as const),
            ] as const) {
              const status = (item as { status?: string } | undefined)?.status;
              if (status && TERMINAL.has(status)) ended.add(id);
              else if (ended.has(id)) throw new Error(`${id} left a terminal state for ${status}`);
            }
          }

          const a = await stateOf(ordered.session, ordered.streams);
          const b = await stateOf(reordered.session, streamsB);
          expect(b).toEqual(a);

          if (life.sessionEnd === 'none') return;
          // A later connection under the ended session's id: admitted, and a generation of its own
          // that the earlier one's hooks, replayed late (a spill), leave alone.
          const reusedAt = new Date();
          // The later connection is received strictly after the replays' time: a hook received in the
          // same millisecond as a generation's start is that generation's (`lifecycle.ts`), so a tie
          // would make the replays the new generation's, not the earlier one's.
          while (Date.now() <= reusedAt.getTime()) await new Promise((r) => setTimeout(r, 1));
          const again = [
            await wcs.send('connect', wcs.connectBody(reordered.session)),
            await wcs.send(
              'ConnectionStatusEvent',
              wcs.connectionStatusBody(reordered.session, 'ESTABLISHED'),
            ),
          ];
          expect(again.map((r) => r.status)).toEqual([200, 200]);
          for (const [method, body] of hooks.filter(([m]) => m === 'ConnectionStatusEvent'))
            await record(body, { method, receivedAt: reusedAt, digest: `replayed-${randomUUID()}` });
          const item = await getItem('sessions', { sessionId: reordered.session.sessionId });
          expect(item).toMatchObject({ status: 'ESTABLISHED', generation: 2, openAppKey: 'order' });
          const earlier = a.session as Record<string, unknown> | undefined;
          expect(item?.previousGenerations).toEqual([
            expect.objectContaining({ generation: 1, status: earlier?.status, info: earlier?.info }),
          ]);
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);
});
