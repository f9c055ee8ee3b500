/**
 * Order-independence (fast-check property): for generated lifecycles of sessions and streams, the
 * hooks delivered in any order, with duplicates, leave the same state in DynamoDB as in-order
 * delivery, and no terminal state is ever undone along the way. Hooks go through the real HTTP path.
 * `PROPERTY_RUNS` sets the number of runs (default 20).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer();
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'order' });
});
afterAll(() => server.close());

/** A lifecycle, as the statuses WCS reports; the hooks are built for a given session id. */
interface Lifecycle {
  readonly sessionEnd: 'DISCONNECTED' | 'FAILED' | 'FAILED+DISCONNECTED' | 'none';
  readonly streams: readonly {
    published: boolean;
    end: 'normal' | 'FAILED' | 'FAILED+normal' | 'none';
    keepAlive: boolean;
  }[];
}

const lifecycle: fc.Arbitrary<Lifecycle> = fc.record({
  sessionEnd: fc.constantFrom('DISCONNECTED', 'FAILED', 'FAILED+DISCONNECTED', 'none'),
  streams: fc.array(
    fc.record({
      published: fc.boolean(),
      end: fc.constantFrom('normal', 'FAILED', 'FAILED+normal', 'none'),
      keepAlive: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
});

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
    history: ((statusHistory as { status: string; info?: string }[]) ?? [])
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

describe('hooks in any order, with duplicates', () => {
  it('leave the state in-order delivery leaves, and never undo a terminal state', async () => {
    await fc.assert(
      fc.asyncProperty(
        lifecycle,
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (life, shuffle, duplicates) => {
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
          const order = hooks
            .map((hook, i) => ({ hook, key: shuffle.next().value as number, i }))
            .sort((a, b) => a.key - b.key || a.i - b.i);
          const ended = new Set<string>();
          for (const { hook } of order) {
            expect((await wcs.send(hook[0], hook[1])).status).toBe(200);
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
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 300_000);
});
