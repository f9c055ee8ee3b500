/**
 * The node edge over a generated cluster (fast-check property; issue "The node edge tells the
 * truth"): two fake WCS nodes, one app that allows one publisher per name, and any interleaving of
 *
 * - hooks: connections and publishers starting and ending, their event hooks lost at random,
 *   repeated late, or naming the other node (a misrouted or forged hook), and a session id of an
 *   ended connection reused by a new one (WCS's address-based ids, behind NAT);
 * - node answers: truthful, garbage entries, a truncated body, a proxy's plain-text 404, too large,
 *   too slow, or none at all (the poller cut off while hooks still flow);
 * - reconciliations (`pollNow`, no grace).
 *
 * After every reconciliation: nothing a node still has is ended, and no live publisher's name is
 * free. A reused id's new connection is admitted and may act. At the end, with every node answering
 * truthfully and holding a connection to list (so its 404s are believed), two reconciliations leave
 * exactly what each node has open and live.
 * `PROPERTY_RUNS` sets the number of runs (default 20).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { freePort } from '../../infra/local/dynamodb-local.ts';
import { FakeWcs, type WcsSession, type WcsStream } from '../support/fake-wcs.ts';
import { FakeWcsRest, type RawAnswer } from '../support/fake-wcs-rest.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
const MAX_ANSWER_BYTES = 32 * 1024;
const APP = `cluster-${randomUUID().slice(0, 6)}`;
const NAMES = ['cam-a', 'cam-b', 'cam-c'];

let server: RunningHookServer;
const nodes: { wcs: FakeWcs; rest: FakeWcsRest; closedUrl: string }[] = [];
let pollNow: typeof import('../../shared/monitoring/poller.ts').pollNow;
let putNodeUrl: typeof import('../../shared/sender/wcs-nodes.ts').putNodeUrl;
let openSessionsOn: typeof import('../../shared/state/sessions.ts').openSessionsOn;
let liveStreamsOn: typeof import('../../shared/state/streams.ts').liveStreamsOn;
let getItem: typeof import('../support/tables.ts').getItem;

beforeAll(async () => {
  await useOwnTables('cluster');
  server = await startHookServer({
    RECONCILE_GRACE_S: '0',
    NODE_POLL_INTERVAL_S: '3600',
    NODE_LOST_AFTER_S: '3600',
    WCS_REST_TIMEOUT_MS: '300',
    WCS_ALLOWED_NETWORKS: '127.0.0.0/8',
    WCS_REST_MAX_ANSWER_BYTES: String(MAX_ANSWER_BYTES),
  });
  ({ pollNow } = await import('../../shared/monitoring/poller.ts'));
  ({ putNodeUrl } = await import('../../shared/sender/wcs-nodes.ts'));
  ({ openSessionsOn } = await import('../../shared/state/sessions.ts'));
  ({ liveStreamsOn } = await import('../../shared/state/streams.ts'));
  ({ getItem } = await import('../support/tables.ts'));
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(APP, { admission: 'open', singlePublisher: true });
  for (const ip of ['127.0.99.1', '127.0.99.2']) {
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: APP, ip });
    const rest = await new FakeWcsRest({ node: wcs, host: ip }).start();
    await putNodeUrl(wcs.nodeId, rest.url);
    nodes.push({ wcs, rest, closedUrl: `http://${ip}:${await freePort()}/rest-api` });
  }
}, 60_000);
afterAll(async () => {
  await server.close();
  for (const { rest } of nodes) await rest.close();
});

type Mode = 'truthful' | 'garbage' | 'truncated' | 'foreign404' | 'huge' | 'slow' | 'silent';
type Op =
  | { readonly kind: 'connect'; readonly node: number; readonly lost: boolean }
  | { readonly kind: 'publish'; readonly slot: number; readonly name: number; readonly lost: boolean }
  | { readonly kind: 'endStream' | 'disconnect'; readonly slot: number; readonly lost: boolean }
  | { readonly kind: 'reuse' | 'repeat' | 'foreign'; readonly slot: number }
  | { readonly kind: 'answer'; readonly node: number; readonly mode: Mode }
  | { readonly kind: 'poll' };

const slot = fc.nat(7);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('connect' as const), node: fc.nat(1), lost: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      slot,
      name: fc.nat(NAMES.length - 1),
      lost: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('endStream' as const, 'disconnect' as const),
      slot,
      lost: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('reuse' as const, 'repeat' as const, 'foreign' as const),
      slot,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('answer' as const),
      node: fc.nat(1),
      mode: fc.constantFrom<Mode>('truthful', 'garbage', 'truncated', 'foreign404', 'huge', 'slow', 'silent'),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'poll' as const }) },
);

/** One connection as the model knows it: its node, its session, its streams (live or not on the node). */
interface Connection {
  readonly node: number;
  readonly session: WcsSession;
  readonly streams: WcsStream[];
  /** Hook bodies sent for it, to repeat late. */
  readonly sent: { method: string; body: Record<string, unknown> }[];
}

const json = (value: unknown): RawAnswer => ({ status: 200, body: JSON.stringify(value) });
const HUGE = json(
  Array.from({ length: 600 }, () => ({ mediaSessionId: randomUUID(), status: 'PUBLISHING' })),
);

/** Makes node `n` answer as `mode` says (and only then: `truthful` restores it). */
async function setMode(n: number, mode: Mode): Promise<void> {
  const { wcs, rest, closedUrl } = nodes[n] as (typeof nodes)[number];
  await putNodeUrl(wcs.nodeId, mode === 'silent' ? closedUrl : rest.url);
  const answers: Record<Exclude<Mode, 'truthful' | 'silent'>, RawAnswer | 'hang'> = {
    garbage: json([1, 'x', { foo: 'bar' }]),
    truncated: { status: 200, body: '[{"mediaSessionId": "trunc' },
    foreign404: { status: 404, body: '404 page not found', contentType: 'text/plain' },
    huge: HUGE,
    slow: 'hang',
  };
  rest.override = mode === 'truthful' || mode === 'silent' ? undefined : () => answers[mode];
}

/** Sends a hook for `c` through its own node, remembering it to repeat later. */
async function hook(c: Connection, method: string, body: Record<string, unknown>) {
  c.sent.push({ method, body });
  return (nodes[c.node] as (typeof nodes)[number]).wcs.send(method, body);
}

const isHeld = (c: Connection) =>
  (nodes[c.node] as (typeof nodes)[number]).wcs.heldSessions.has(c.session.sessionId);
const isLive = (c: Connection, s: WcsStream) =>
  (nodes[c.node] as (typeof nodes)[number]).wcs.liveStreams.has(s.mediaSessionId);
const ended = (item: Record<string, unknown> | undefined) => item?.endedAt !== undefined;

/** Nothing a node still has is ended here, and every live publisher still holds its name. */
async function checkInvariants(connections: readonly Connection[]) {
  for (const c of connections) {
    if (!isHeld(c)) continue;
    const item = await getItem('sessions', { sessionId: c.session.sessionId });
    if (item)
      expect({ session: c.session.sessionId, ended: ended(item) }).toEqual({
        session: c.session.sessionId,
        ended: false,
      });
    for (const s of c.streams) {
      if (!isLive(c, s)) continue;
      const stream = await getItem('streams', { sessionId: s.sessionId, mediaSessionId: s.mediaSessionId });
      expect({ stream: s.mediaSessionId, ended: ended(stream) }).toEqual({
        stream: s.mediaSessionId,
        ended: false,
      });
      const held = await getItem('streamNames', { appKey: APP, name: s.name });
      expect({ name: s.name, holder: held?.publisherMediaSessionId }).toEqual({
        name: s.name,
        holder: s.mediaSessionId,
      });
    }
  }
}

/** What this backend holds open and live of `connections`, against what the nodes hold. */
async function compare(connections: readonly Connection[]) {
  const ours = { sessions: new Set<string>(), streams: new Set<string>() };
  for (const { wcs } of nodes) {
    for (const id of await openSessionsOn(wcs.nodeId)) ours.sessions.add(id);
    for (const ref of await liveStreamsOn(wcs.nodeId)) ours.streams.add(ref.mediaSessionId);
  }
  const ids = new Set(connections.map((c) => c.session.sessionId));
  const streamIds = new Set(connections.flatMap((c) => c.streams.map((s) => s.mediaSessionId)));
  const truth = {
    sessions: connections.filter(isHeld).map((c) => c.session.sessionId),
    streams: connections.flatMap((c) => c.streams.filter((s) => isLive(c, s)).map((s) => s.mediaSessionId)),
  };
  return {
    ours: {
      sessions: [...ours.sessions].filter((id) => ids.has(id)).sort(),
      streams: [...ours.streams].filter((id) => streamIds.has(id)).sort(),
    },
    truth: { sessions: [...new Set(truth.sessions)].sort(), streams: truth.streams.sort() },
  };
}

describe('the node edge over a generated cluster', () => {
  it("never ends what a node has, never frees a live publisher's name, never refuses a reused id, and converges", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 24 }), async (ops) => {
        // A clean cluster: what earlier runs left is ended by a truthful reconciliation.
        for (const [n, { wcs }] of nodes.entries()) {
          await setMode(n, 'truthful');
          wcs.heldSessions.clear();
          wcs.liveStreams.clear();
        }
        await pollNow();
        const connections: Connection[] = [];
        const pick = (i: number) => connections[i % Math.max(1, connections.length)];
        for (const step of ops) {
          if (step.kind === 'poll') {
            await pollNow();
            await checkInvariants(connections);
          } else if (step.kind === 'answer') {
            await setMode(step.node, step.mode);
          } else if (step.kind === 'connect') {
            const { wcs } = nodes[step.node] as (typeof nodes)[number];
            const c: Connection = { node: step.node, session: wcs.newSession(), streams: [], sent: [] };
            connections.push(c);
            expect((await hook(c, 'connect', wcs.connectBody(c.session))).status).toBe(200);
            if (!step.lost)
              await hook(c, 'ConnectionStatusEvent', wcs.connectionStatusBody(c.session, 'ESTABLISHED'));
          } else {
            const c = pick(step.slot);
            if (!c) continue;
            const { wcs } = nodes[c.node] as (typeof nodes)[number];
            const other = nodes[1 - c.node] as (typeof nodes)[number];
            if (step.kind === 'publish') {
              if (!isHeld(c)) continue;
              const stream = wcs.newStream(c.session, NAMES[step.name] as string, true);
              const answer = await hook(c, 'publishStream', wcs.streamBody(stream, 'PENDING'));
              if (answer.status !== 200) continue; // refused: WCS does not start it
              c.streams.push(stream);
              wcs.holdSilently(stream);
              if (!step.lost) await hook(c, 'StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING'));
            } else if (step.kind === 'endStream') {
              const stream = c.streams.find((s) => isLive(c, s));
              if (!stream) continue;
              wcs.holdSilently(stream, false);
              if (!step.lost) await hook(c, 'StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED'));
            } else if (step.kind === 'disconnect') {
              if (!isHeld(c)) continue;
              for (const stream of c.streams.filter((s) => isLive(c, s))) {
                wcs.holdSilently(stream, false);
                if (!step.lost) await hook(c, 'StreamStatusEvent', wcs.streamBody(stream, 'UNPUBLISHED'));
              }
              wcs.dropSilently(c.session);
              if (!step.lost)
                await hook(c, 'ConnectionStatusEvent', wcs.connectionStatusBody(c.session, 'DISCONNECTED'));
            } else if (step.kind === 'reuse') {
              // A new connection behind the same address: the ended session's id again (whether or
              // not its end was told here).
              if (isHeld(c)) continue;
              wcs.heldSessions.add(c.session.sessionId);
              const reply = await hook(c, 'connect', wcs.connectBody(c.session));
              expect(reply.status).toBe(200);
              await hook(c, 'ConnectionStatusEvent', wcs.connectionStatusBody(c.session, 'ESTABLISHED'));
              const data = await wcs.send('OnDataEvent', wcs.dataBody(c.session, { hello: 'again' }));
              expect({ reused: c.session.sessionId, data: data.status }).toEqual({
                reused: c.session.sessionId,
                data: 200,
              });
            } else if (step.kind === 'repeat') {
              // A copy of an earlier hook, late; a DISCONNECTED only while the node no longer has it.
              const earlier = c.sent.filter(
                (h) =>
                  h.method !== 'connect' &&
                  h.method !== 'publishStream' &&
                  (h.body.status !== 'DISCONNECTED' || !isHeld(c)),
              );
              const again = earlier[step.slot % Math.max(1, earlier.length)];
              if (again) await wcs.send(again.method, again.body);
            } else if (step.kind === 'foreign') {
              // The other node claims this session ended, and its live stream too.
              await other.wcs.send('ConnectionStatusEvent', {
                ...c.session,
                nodeId: other.wcs.nodeId,
                status: 'DISCONNECTED',
              });
              const stream = c.streams.find((s) => isLive(c, s));
              if (stream)
                await other.wcs.send('StreamStatusEvent', {
                  ...wcs.streamBody(stream, 'UNPUBLISHED'),
                  nodeId: other.wcs.nodeId,
                });
            }
          }
        }
        await checkInvariants(connections);
        // Every node answers truthfully again, as WCS: within two reconciliations, the tables are the
        // nodes. A node holding nothing answers 404 to both finders, believed only from a REST API
        // confirmed to be WCS's (one that answered a list): so each node also holds a connection of
        // its own (a probe, not among `connections`), as a node in use does. A node that never lists
        // anything is not believed, by design: ending on a 404 from what may be a proxy is refused.
        for (const n of nodes.keys()) await setMode(n, 'truthful');
        const probes = nodes.map(({ wcs }) => ({ wcs, session: wcs.newSession() }));
        await pollNow();
        await pollNow();
        for (const { wcs, session } of probes) wcs.dropSilently(session);
        const { ours, truth } = await compare(connections);
        expect(ours).toEqual(truth);
        await checkInvariants(connections);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
