/**
 * Idle cost: the DynamoDB requests `npm start` makes with no hook coming in, counted by a proxy in
 * front of DynamoDB Local (`test/support/conflict-proxy.ts`, passing every request through): without
 * the realtime API, with it and no client, and with one realtime client subscribed (the streams are
 * tailed only then). Counts, not times.
 */
import { startConflictProxy } from '../test/support/conflict-proxy.ts';
import { connectStomp, subscribe } from '../test/support/stomp.ts';
import { fmt, progress, table, withFreshDynamo, withRuntime } from './support.ts';

const SECONDS = Number(process.env.IDLE_SECONDS ?? 20);
/** What the runtime does in its first seconds (the queue consumer's first, closer polls) is not idle. */
const SETTLE_MS = 5_000;
const TARGET_PER_SECOND = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode =
  | 'without API_TOKEN'
  | 'with API_TOKEN, no realtime client'
  | 'with API_TOKEN, one realtime client';

async function idleRequests(mode: Mode): Promise<string[]> {
  return withFreshDynamo(async (dynamo) => {
    const proxy = await startConflictProxy(dynamo);
    try {
      return await withRuntime(
        proxy.endpoint,
        async (base) => {
          const client =
            mode === 'with API_TOKEN, one realtime client'
              ? await connectStomp(`${base.replace('http', 'ws')}/ws?token=bench`)
              : undefined;
          if (client) await subscribe(client, '/topic/sessions');
          await sleep(SETTLE_MS);
          const from = proxy.targets.length;
          await sleep(SECONDS * 1000);
          const seen = proxy.targets.slice(from);
          await client?.deactivate({ force: true });
          return seen;
        },
        { realtime: mode !== 'without API_TOKEN' },
      );
    } finally {
      await proxy.close();
    }
  });
}

export async function idle() {
  const modes: Mode[] = [
    'without API_TOKEN',
    'with API_TOKEN, no realtime client',
    'with API_TOKEN, one realtime client',
  ];
  const rows: (string | number)[][] = [];
  for (const mode of modes) {
    progress(`idle: npm start ${mode}, ${SECONDS} s...`);
    const targets = await idleRequests(mode);
    const byTarget = new Map<string, number>();
    for (const t of targets) {
      const name = t.replace(/^DynamoDB_\d+\./, '').replace(/^DynamoDBStreams_\d+\./, 'Streams.');
      byTarget.set(name, (byTarget.get(name) ?? 0) + 1);
    }
    rows.push([
      mode,
      targets.length,
      fmt(targets.length / SECONDS, 2),
      [...byTarget].map(([k, v]) => `${k} ${v}`).join(', ') || '-',
    ]);
  }
  const met = rows.slice(0, 2).filter((r) => Number(r[2]) <= TARGET_PER_SECOND).length;
  table(
    'Idle (local runtime, no hooks)',
    ['npm start', `DynamoDB requests in ${SECONDS} s`, 'per second', 'by request'],
    rows,
    [
      `Target: at most ${TARGET_PER_SECOND} DynamoDB request per second with no hooks and no realtime client (met by ${met} of 2). Counted by a proxy in front of DynamoDB Local, after the runtime's first ${SETTLE_MS / 1000} s. The queue consumer polls the send queue less often while it is empty; the tables' streams are tailed only while a realtime client is connected (last row). Deployed, no function polls: the send queue and the spill queue are consumed by Lambda's event source mappings, the node poller runs on its EventBridge schedule (once a minute), and realtime changes come from the tables' streams.`,
    ],
  );
}
