/**
 * A reconciliation run over `RECONCILE_NODES` (50) fake WCS nodes holding `RECONCILE_SESSIONS`
 * (10,000) sessions, each with a live stream, 10 % of whose end hooks were lost (the nodes no longer
 * have them) and 1 % of whose start hooks were lost (the nodes have them, the tables do not). Timed
 * against the floor: the same requests to the same nodes, with no DynamoDB work. The run must
 * finish well inside the poller's interval (60 s).
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { configureInProcess, fmt, progress, table } from './support.ts';

const NODES = Number(process.env.RECONCILE_NODES ?? 50);
const SESSIONS = Number(process.env.RECONCILE_SESSIONS ?? 10_000);

export async function reconcileBench(endpoint: string) {
  configureInProcess(endpoint);
  // No grace: the sessions are recorded a moment before the run. A request timeout that a starved
  // DynamoDB Local (another benchmark on the same cores) does not trip while 10,000 sessions are set up.
  Object.assign(process.env, {
    RECONCILE_GRACE_S: '0',
    NODE_POLL_INTERVAL_S: '3600',
    DYNAMODB_REQUEST_TIMEOUT_MS: '30000',
  });
  const { FakeWcs } = await import('../test/support/fake-wcs.ts');
  const { FakeWcsRest } = await import('../test/support/fake-wcs-rest.ts');
  const { putNodeUrl } = await import('../shared/sender/wcs-nodes.ts');
  const { noteNodeHook } = await import('../shared/state/monitoring.ts');
  const { recorderByMethod } = await import('../shared/state/recorders.ts');
  const { recordConnect } = await import('../shared/state/sessions.ts');
  const { mapWithConcurrency } = await import('../shared/sender/sender.ts');
  const { pollNow } = await import('../shared/monitoring/poller.ts');
  const record = recorderByMethod();

  progress(`reconcile: ${NODES} nodes, ${SESSIONS} sessions with a live stream each...`);
  const nodes = await Promise.all(
    Array.from({ length: NODES }, async (_, i) => {
      const wcs = new FakeWcs({
        appUrl: '',
        appKey: 'reconcile',
        ip: `127.0.${30 + Math.floor(i / 250)}.${(i % 250) + 1}`,
      });
      const rest = await new FakeWcsRest({ node: wcs }).start();
      await putNodeUrl(wcs.nodeId, rest.url);
      await noteNodeHook(wcs.nodeId, new Date());
      return { wcs, rest };
    }),
  );
  // The shares are taken on each node (`n`: the session's index on its node), not over the whole
  // run: by the global index, every tenth session of the run is on the same 5 of 50 nodes, which
  // then hold nothing at all, answer 404 (as WCS does with nothing to list) and, never confirmed as
  // WCS by a list, have nothing ended on them (docs/reconciliation.md): the first run ended 0.
  const work = Array.from({ length: SESSIONS }, (_, i) => {
    const { wcs } = nodes[i % NODES] as (typeof nodes)[number];
    const session = wcs.newSession();
    return { wcs, session, stream: wcs.newStream(session, `rc-${i}`, true), n: Math.floor(i / NODES) };
  });
  await mapWithConcurrency(work, 32, async ({ wcs, session, stream, n }) => {
    if (n % 100 === 0) {
      // 1 %: started on the node, every start hook lost.
      wcs.holdSilently(stream);
      return;
    }
    const at = new Date();
    await recordConnect(wcs.connectBody(session) as never, at);
    await record(wcs.streamBody(stream, 'PUBLISHING'), {
      method: 'StreamStatusEvent',
      receivedAt: at,
      digest: randomUUID(),
    });
    wcs.holdSilently(stream);
    // 10 %: ended on the node, the end hooks lost.
    if (n % 10 === 5) wcs.dropSilently(session);
  });

  // The floor: the same two requests per node, nothing written.
  const floor = async () => {
    const started = performance.now();
    await Promise.all(
      nodes.map(async ({ rest }) => {
        const pool = new Pool(new URL(rest.url).origin);
        for (const path of ['/rest-api/stream/find_all', '/rest-api/connection/find_all']) {
          const response = await pool.request({ method: 'POST', path, body: '{}' });
          await response.body.json().catch(() => undefined);
        }
        await pool.close();
      }),
    );
    return (performance.now() - started) / 1000;
  };
  const floorSeconds = await floor();
  progress('reconcile: the run...');
  const started = performance.now();
  const first = await pollNow();
  const firstSeconds = (performance.now() - started) / 1000;
  const again = performance.now();
  const second = await pollNow();
  const secondSeconds = (performance.now() - again) / 1000;
  for (const { rest } of nodes) await rest.close();
  const { closeWcsClient } = await import('../shared/sender/wcs-client.ts');
  await closeWcsClient();
  table(
    `Reconciliation over ${NODES} nodes, ${SESSIONS} sessions and streams (fake WCS on loopback)`,
    ['run', 'seconds', 'ended', 'found', 'ratio to the floor', 'share of the 60 s interval'],
    [
      [
        'the floor: the same requests, nothing read or written',
        fmt(floorSeconds, 2),
        '-',
        '-',
        '1.00',
        `${fmt((floorSeconds / 60) * 100)} %`,
      ],
      [
        'first run (10 % ended, 1 % found)',
        fmt(firstSeconds, 2),
        first.ended,
        first.found,
        fmt(firstSeconds / floorSeconds, 1),
        `${fmt((firstSeconds / 60) * 100)} %`,
      ],
      [
        'next run (nothing to change)',
        fmt(secondSeconds, 2),
        second.ended,
        second.found,
        fmt(secondSeconds / floorSeconds, 1),
        `${fmt((secondSeconds / 60) * 100)} %`,
      ],
    ],
    [
      'A run reads, per node, one Query of each per-node index and the items that differ; it writes only what it ends or records.',
      'Ended: each session and stream a node no longer has, through the recorders (name holds and player places released).',
      `Expected in the first run: ${(SESSIONS / 10) * 2} ended (${SESSIONS / 10} sessions and their streams, 10 % of each node's) and ${(SESSIONS / 100) * 2} found (1 %: sessions and streams); nodes not reconciled (down, unreachable, not asked): ${first.nodesDown + first.nodesUnreachable + first.nodesNotAsked}.`,
    ],
  );
}
