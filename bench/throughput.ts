import { randomUUID } from 'node:crypto';
import {
  BENCH_SECONDS,
  cannon,
  connectBody,
  ctx,
  fmt,
  openSessions,
  progress,
  streamBody,
  table,
  withBaseline,
  withFreshDynamo,
  withRuntime,
} from './support.ts';

export async function throughput() {
  const endpoints = [
    ['connect', (base: string) => cannon(`${base}/hooks/connect`, connectBody)],
    [
      'StreamStatusEvent',
      async (base: string) => {
        const pick = await openSessions(base);
        return cannon(`${base}/hooks/StreamStatusEvent`, () => streamBody(pick(), 'PUBLISHING'));
      },
    ],
    [
      'OnDataEvent',
      async (base: string) => {
        const pick = await openSessions(base);
        return cannon(`${base}/hooks/OnDataEvent`, () => ({
          ...ctx(pick()),
          operationId: randomUUID(),
          payload: { text: 'hello' },
        }));
      },
    ],
  ] as const;
  progress(
    `throughput: ${BENCH_SECONDS} s per run, 10 connections, ${endpoints.length} endpoints and their baselines...`,
  );
  const runs: {
    name: string;
    baseline: Awaited<ReturnType<typeof cannon>>;
    result: Awaited<ReturnType<typeof cannon>>;
  }[] = [];
  for (const [name, run] of endpoints) {
    const baseline = await withFreshDynamo((endpoint) =>
      withBaseline(endpoint, (base) => cannon(`${base}/`, () => streamBody(randomUUID(), 'PUBLISHING'))),
    );
    const result = await withFreshDynamo((endpoint) => withRuntime(endpoint, run));
    runs.push({ name, baseline, result });
  }
  const ratio = (r: (typeof runs)[number]) => r.result.rps / r.baseline.rps;
  table(
    'Hook throughput and latency (local runtime, DynamoDB Local)',
    [
      'endpoint',
      'req/s',
      'p50 (ms)',
      'p99 (ms)',
      'errors',
      'its baseline (req/s, p50, p99)',
      'ratio to its baseline (req/s)',
    ],
    runs.map((r) => [
      r.name,
      fmt(r.result.rps),
      r.result.p50,
      r.result.p99,
      r.result.errors,
      `${fmt(r.baseline.rps)}, ${r.baseline.p50}, ${r.baseline.p99}`,
      fmt(ratio(r), 2),
    ]),
    [
      `Target: 0.8x of the baseline or better (met by ${runs.filter((r) => ratio(r) >= 0.8).length} of ${runs.length}). autocannon, ${BENCH_SECONDS} s, 10 connections, each request a new body. Each endpoint and its baseline (node:http + one PutItem) run one after the other, each on a fresh DynamoDB Local.`,
      '',
      "DynamoDB Local (one Java process, on the same two cores) bounds every row. The baseline makes one PutItem to a table with one index. `connect` makes one UpdateItem (a new session, two indexes: `openByApp`, `openByNode`; the app policy comes from a cache). `StreamStatusEvent` here is the first hook of each stream: one UpdateItem that creates the item in four indexes (`byDay`, `byName`, `liveStreams`, `liveByNode`). `OnDataEvent` is a decision: one consistent GetItem of the session, then one UpdateItem (with its `byTime` index). Once a minute a hook also notes its node (`monitoring`). The local runtime, like `npm start` with `API_TOKEN`, serves the realtime API (the tables' streams are tailed only while a client is connected: none is here), runs the node poller and polls its send queue (less often while it is empty), on the same DynamoDB Local and cores, so ratios vary from run to run.",
    ],
  );
}
