/**
 * Hook throughput on the local runtime (autocannon), each endpoint against the servers that bound it:
 *
 * - its same-request floor (`floor-server.ts`): `node:http` making the DynamoDB requests the hook
 *   makes, recorded from the hook itself (`cpu-record.ts`), and nothing else;
 * - the local runtime without the realtime API (`npm start` without `API_TOKEN`) and with it;
 * - the PutItem baseline (`baseline-server.ts`), which shows what DynamoDB Local allows at all.
 *
 * Runs alternate (floor, runtime without, runtime with, baseline; then the other way round), each on
 * a fresh DynamoDB Local, so that whatever slows the machine weighs on all of them.
 */

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { exportTableNames } from '../infra/local/tables.ts';
import { recordRequests } from './recording.ts';
import {
  BENCH_SECONDS,
  cannon,
  connectBody,
  ctx,
  fmt,
  median,
  openSessions,
  PREFIX,
  progress,
  streamBody,
  table,
  withBaseline,
  withFreshDynamo,
  withRuntime,
  withServer,
  work,
} from './support.ts';

const ROUNDS = Number(process.env.THROUGHPUT_ROUNDS ?? 2);
const FLOOR_TARGET = 0.9;

const dataBody = (sessionId: string) => ({
  ...ctx(sessionId),
  operationId: randomUUID(),
  payload: { text: 'hello' },
});

/**
 * The endpoints measured: each hook's method and handler, and the body of one call; a hook that needs
 * a session (`ofSession`) is sent for sessions opened first with `connect`.
 */
const endpoints = [
  { name: 'connect', handler: 'connect', ofSession: false, body: () => connectBody() },
  {
    name: 'StreamStatusEvent',
    handler: 'stream-status-event',
    ofSession: true,
    body: (sessionId: string) => streamBody(sessionId, 'PUBLISHING'),
  },
  { name: 'OnDataEvent', handler: 'on-data-event', ofSession: true, body: dataBody },
] as const;
type Endpoint = (typeof endpoints)[number];

/** Load on `base`: a new body each request, for one of 50 sessions opened first when it needs one. */
async function run(endpoint: Endpoint, base: string) {
  const pick = endpoint.ofSession ? await openSessions(base) : () => '';
  return cannon(`${base}/hooks/${endpoint.name}`, () => endpoint.body(pick()));
}

/**
 * Each endpoint's DynamoDB requests, as the hook made them in a steady-state call (the last of three:
 * the first also reads the app policy and notes its node, which later calls take from caches), with
 * the body that call was sent; written for `floor-server.ts`.
 */
async function recordTemplates(): Promise<string> {
  const templates: Record<string, { body: unknown; requests: unknown }> = {};
  for (const endpoint of endpoints) {
    progress(`throughput: recording the DynamoDB requests of ${endpoint.name}...`);
    await withFreshDynamo(async (dynamoEndpoint) => {
      const session = connectBody();
      const hooks = {
        setup: endpoint.ofSession ? [{ handler: 'connect', method: 'connect', body: session }] : [],
        calls: [1, 2, 3].map(() => ({ method: endpoint.name, body: endpoint.body(session.sessionId) })),
      };
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        DYNAMODB_ENDPOINT: dynamoEndpoint,
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: 'l',
        AWS_SECRET_ACCESS_KEY: 'l',
        POWERTOOLS_METRICS_DISABLED: 'true',
        SPILL_DIR: join(work, 'throughput-spill'),
      };
      exportTableNames(PREFIX, env);
      const { requests } = recordRequests(
        endpoint.handler,
        hooks,
        env,
        work,
        `throughput-${endpoint.handler}`,
      );
      templates[endpoint.name] = { body: hooks.calls.at(-1)?.body, requests: requests.at(-1) };
    });
  }
  const file = join(work, 'throughput-templates');
  writeFileSync(file, serialize(templates));
  return file;
}

type Result = Awaited<ReturnType<typeof cannon>>;
type Server = 'floor' | 'runtime' | 'runtime+realtime' | 'baseline';
const SERVERS: Server[] = ['floor', 'runtime', 'runtime+realtime', 'baseline'];

export async function throughput() {
  const templates = await recordTemplates();
  progress(
    `throughput: ${BENCH_SECONDS} s per run, 10 connections, ${endpoints.length} endpoints against 3 servers each, ${ROUNDS} rounds...`,
  );
  const runOn = (server: Server, endpoint: Endpoint): Promise<Result> =>
    withFreshDynamo((dynamo) => {
      switch (server) {
        case 'floor':
          return withServer(
            'bench/floor-server.ts',
            {
              DYNAMODB_ENDPOINT: dynamo,
              TEMPLATES: templates,
              AWS_REGION: 'local',
              AWS_ACCESS_KEY_ID: 'l',
              AWS_SECRET_ACCESS_KEY: 'l',
            },
            (line) => line === 'ready',
            (base) => run(endpoint, base),
          );
        case 'runtime':
          return withRuntime(dynamo, (base) => run(endpoint, base), { realtime: false });
        case 'runtime+realtime':
          return withRuntime(dynamo, (base) => run(endpoint, base));
        case 'baseline':
          return withBaseline(dynamo, (base) =>
            cannon(`${base}/`, () => streamBody(randomUUID(), 'PUBLISHING')),
          );
      }
    });
  const results = new Map<string, Map<Server, Result[]>>(
    endpoints.map((e) => [e.name, new Map(SERVERS.map((s) => [s, [] as Result[]]))]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const endpoint of endpoints) {
      const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      for (const server of order) {
        progress(`throughput: ${endpoint.name} on ${server} (round ${round + 1} of ${ROUNDS})...`);
        results
          .get(endpoint.name)
          ?.get(server)
          ?.push(await runOn(server, endpoint));
      }
    }
  }
  const rps = (name: string, server: Server) =>
    median(
      results
        .get(name)
        ?.get(server)
        ?.map((r) => r.rps) ?? [],
    );
  const errors = (name: string, server: Server) =>
    (results.get(name)?.get(server) ?? []).reduce((n, r) => n + r.errors, 0);
  const p = (name: string, server: Server, key: 'p50' | 'p99') =>
    median(
      results
        .get(name)
        ?.get(server)
        ?.map((r) => r[key]) ?? [],
    );
  const rows = endpoints.map(({ name }) => {
    const floor = rps(name, 'floor');
    return [
      name,
      `${fmt(floor)} (${p(name, 'floor', 'p50')}, ${p(name, 'floor', 'p99')})`,
      `${fmt(rps(name, 'runtime'))} (${p(name, 'runtime', 'p50')}, ${p(name, 'runtime', 'p99')})`,
      fmt(rps(name, 'runtime') / floor, 2),
      `${fmt(rps(name, 'runtime+realtime'))} (${p(name, 'runtime+realtime', 'p50')}, ${p(name, 'runtime+realtime', 'p99')})`,
      fmt(rps(name, 'runtime+realtime') / floor, 2),
      SERVERS.map((s) => errors(name, s)).join(' / '),
      `${fmt(rps(name, 'baseline'))}; ${fmt(rps(name, 'runtime') / rps(name, 'baseline'), 2)}`,
    ];
  });
  const met = (column: number) => rows.filter((r) => Number(r[column]) >= FLOOR_TARGET).length;
  table(
    'Hook throughput (local runtime, DynamoDB Local)',
    [
      'endpoint',
      'same-request floor: req/s (p50, p99 ms)',
      'npm start without API_TOKEN: req/s (p50, p99)',
      'ratio to the floor',
      'npm start with API_TOKEN (realtime API on): req/s (p50, p99)',
      'ratio to the floor',
      'errors (floor / without / with / baseline)',
      'PutItem baseline req/s; ratio of npm start without API_TOKEN to it',
    ],
    rows,
    [
      `Target: ${FLOOR_TARGET}x the same-request floor or better (without the realtime API: met by ${met(3)} of ${rows.length}; with it: met by ${met(5)} of ${rows.length}). autocannon, ${BENCH_SECONDS} s, 10 connections, each request a new body; the runs of an endpoint alternate (floor, without, with, baseline; then the other way round), ${ROUNDS} rounds, each on a fresh DynamoDB Local; req/s and latencies are the medians of the rounds.`,
      "The same-request floor (`bench/floor-server.ts`) is a bare `node:http` server making, for each body, the DynamoDB requests the hook made in a steady-state call, recorded from the hook itself (its identifiers replaced by the body's): `connect` one UpdateItem (a new session, in the `openByApp` and `openByNode` indexes); `StreamStatusEvent` (the first hook of each stream) one UpdateItem creating the item in four indexes; `OnDataEvent` a consistent GetItem of the session and an UpdateItem of the message (in its `byTime` index). The PutItem baseline (one PutItem to a table with one index) is what DynamoDB Local allows at all: DynamoDB Local (one Java process on the same two cores) bounds every column, and an UpdateItem into several indexes costs it about twice a PutItem, so the last ratio cannot approach 1.",
      "With `API_TOKEN` the runtime also serves the realtime API: it runs the node poller and polls its send queue (the tables' streams are tailed only while a realtime client is connected: none is here).",
    ],
  );
}
