/**
 * `npm run bench -- analytics` (issue 27, item 7): a day of `ANALYTICS_STREAMS` publishes (default
 * 10,000) and `ANALYTICS_VIEWERS` viewer sessions (default 1,000,000) exported to Parquet
 * (`npm run cli -- export`, as an analyst runs it) and every saved query run over it by DuckDB.
 *
 * The day is not sent through the hook endpoints (a million sessions would take hours on two cores;
 * the hooks' own cost is the throughput benchmark's): a sample day of `ANALYTICS_SAMPLE_VIEWERS`
 * viewers is, by the traffic simulator (`infra/simulate/simulator.ts`) through the real hook
 * endpoints of the local runtime (`SIMULATED_CLOCK=allow`), and the exported tables' items it made
 * are copied into the same tables with BatchWriteItem until the day has its size. A copy is the
 * hook-written item with its ids (every UUID) replaced by fresh ones and its times moved by up to
 * `JITTER_MS` within their UTC day: its attributes, their names and their DynamoDB types are those
 * the hooks wrote, by construction, and the day keeps the simulator's shape (hourly weights, plays
 * per viewer, data messages, refusals, lost ends). Only the tables the export reads are filled, in
 * the bench's DynamoDB Local in memory (one on disk copied about 240 items/s where this one copied
 * 1,350, on 2026-12-07: the full day would take hours); a million viewers make about 3.8 million
 * items (3,797 per 1,000 viewers, measured), held in DynamoDB Local's memory.
 *
 * Measured: the copy (items/s); the export (rows/s, Parquet bytes, the CLI process's peak RSS); each
 * saved query (median time, rows) against a baseline interleaved with it: a scan of every column of
 * the views the query names (`SELECT count(*) ... WHERE hash(view) IS NOT NULL`).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  paginateScan,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { AnalyticsEngine } from '../infra/analytics/duckdb.ts';
import { SAVED_QUERIES } from '../infra/analytics/saved-queries.ts';
import { VIEWS } from '../infra/analytics/views.ts';
import {
  freePort,
  localDynamoDbClient,
  startDynamoDbLocalWithTables,
} from '../infra/local/dynamodb-local.ts';
import { localTableName } from '../infra/local/tables.ts';
import {
  configureInProcess,
  fmt,
  median,
  PREFIX,
  progress,
  root,
  stopDynamoDbForProcess,
  table,
  withRuntime,
  work,
} from './support.ts';

const VIEWERS = Number(process.env.ANALYTICS_VIEWERS ?? 1_000_000);
const STREAMS = Number(process.env.ANALYTICS_STREAMS ?? 10_000);
/** Viewers of the day sent through the hooks; the rest are copies of it. */
const SAMPLE_VIEWERS = Math.min(VIEWERS, Number(process.env.ANALYTICS_SAMPLE_VIEWERS ?? 1_000));
/**
 * Most items the bench's DynamoDB Local holds at once. In memory it takes about 6.3 KB an item (9.8
 * GB of resident memory at 1.56 million items, measured on 2026-12-07: the item, its index entries
 * and its stream record): the default day's 3.8 million items would need about 24 GB, this machine's
 * whole memory. So the day is written and exported in parts of at most this many items, each in a
 * fresh DynamoDB Local (the last one stopped first), and the parts' Parquet files are put side by side in one export (`<view>/part-N`,
 * the layout the export writes and DuckDB reads); the queries then run over the whole day.
 */
const PART_ITEMS = Number(process.env.ANALYTICS_PART_ITEMS ?? 1_000_000);
/** Rounds of each saved query and its baseline, interleaved. */
const ROUNDS = Number(process.env.ANALYTICS_ROUNDS ?? 3);
/**
 * Yesterday (UTC): the items' `expiresAt` is their time plus the retention, and DynamoDB Local
 * deletes expired items (TTL) as DynamoDB does, so an older day would lose some while it runs.
 */
const DAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
/** How far a copied session's times move (each copy, at random, within its UTC day). */
const JITTER_MS = 30 * 60_000;
/** BatchWriteItem requests in flight. */
const WRITERS = 8;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;

type Item = Record<string, AttributeValue>;

/** The exported tables' items, each under the session it belongs to (its `sessionId`). */
interface Sample {
  readonly bySession: Map<string, { table: string; item: Item }[]>;
  readonly items: number;
  /** Items of each view. */
  readonly perView: Record<string, number>;
}

/** Every string of `value` (however deep) through `rewrite`; other types as they are. */
function rewriteValue(value: AttributeValue, rewrite: (text: string) => string): AttributeValue {
  if (value.S !== undefined) return { S: rewrite(value.S) };
  if (value.SS !== undefined) return { SS: value.SS.map(rewrite) };
  if (value.L !== undefined) return { L: value.L.map((v) => rewriteValue(v, rewrite)) };
  if (value.M !== undefined) return { M: rewriteItem(value.M, rewrite) };
  return value;
}
const rewriteItem = (item: Item, rewrite: (text: string) => string): Item =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, rewriteValue(v, rewrite)]));

/** The ISO times anywhere in `item`'s strings. */
function timesOf(item: Item): number[] {
  const times: number[] = [];
  rewriteItem(item, (text) => {
    for (const match of text.matchAll(ISO_TIME)) times.push(Date.parse(match[0]));
    return text;
  });
  return times;
}

/**
 * Publishes the simulator adds to every day whatever `streams` is (the live app's main stream and
 * the class app's lecture, its two moments that refuse for sure): the sample is sent with that many
 * fewer, so the day has `ANALYTICS_STREAMS`.
 */
const SIMULATOR_DAILY_PUBLISHES = 2;

/** How many of the day's viewers and publishes the sample is sent with, and the copies made of it. */
export function analyticsScale() {
  const copies = Math.max(1, Math.round(VIEWERS / SAMPLE_VIEWERS));
  const sampleStreams = Math.max(0, Math.round(STREAMS / copies) - SIMULATOR_DAILY_PUBLISHES);
  return { copies, sampleViewers: SAMPLE_VIEWERS, sampleStreams };
}

/** The sample day through the real hook endpoints of `npm start` on `endpoint`. */
async function sendSample(endpoint: string): Promise<{ hooks: number; seconds: number; refused: number }> {
  const { simulate, simulatedApps } = await import('../infra/simulate/simulator.ts');
  const { putAppPolicy } = await import('#shared/state/apps.ts');
  const { HOOKS_PATH } = await import('#shared/kernel/registry.ts');
  const { sampleStreams, sampleViewers } = analyticsScale();
  for (const app of Object.values(simulatedApps('sim', 1))) await putAppPolicy(app.appKey, app.policy);
  const budget = '30000';
  return withRuntime(
    endpoint,
    async (base) => {
      let last = 0;
      const summary = await simulate({
        appUrl: `${base}${HOOKS_PATH}`,
        from: DAY,
        days: 1,
        streams: sampleStreams,
        viewers: sampleViewers,
        seed: 1,
        onProgress: ({ hooks, elapsedMs }) => {
          if (elapsedMs - last < 10_000) return;
          last = elapsedMs;
          progress(`analytics: sample: ${hooks} hooks sent (${Math.round((hooks * 1000) / elapsedMs)}/s)`);
        },
      });
      if (summary.unexpectedAnswers > 0)
        throw new Error(`the sample day had ${summary.unexpectedAnswers} answers neither 200 nor 403`);
      const refused = Object.values(summary.totals).reduce((n, t) => n + t.refusals, 0);
      return { hooks: summary.hooks, seconds: summary.elapsedS, refused };
    },
    {
      realtime: false,
      // Every hook decided or written, none answered by its fail mode on a loaded machine.
      env: {
        SIMULATED_CLOCK: 'allow',
        DECISION_BUDGET_MS: budget,
        EVENT_BUDGET_MS: budget,
        REFUSAL_COUNT_BUDGET_MS: budget,
      },
    },
  );
}

/** The items of the exported tables (those of the views), by session. */
async function readSample(client: DynamoDBClient): Promise<Sample> {
  const bySession: Sample['bySession'] = new Map();
  let items = 0;
  const perView: Record<string, number> = {};
  for (const view of VIEWS) {
    perView[view.name] = 0;
    const table = localTableName(PREFIX, view.table);
    for await (const page of paginateScan({ client }, { TableName: table }))
      for (const item of page.Items ?? []) {
        if (view.rowsWhere && !item[view.rowsWhere.attribute]?.S?.startsWith(view.rowsWhere.prefix)) continue;
        const sessionId = item.sessionId?.S ?? `none-${items}`;
        const group = bySession.get(sessionId) ?? [];
        bySession.set(sessionId, group);
        group.push({ table, item });
        items++;
        perView[view.name] = (perView[view.name] ?? 0) + 1;
      }
  }
  return { bySession, items, perView };
}

/**
 * Copies `from` to `to` (exclusive; copy 0 is the sample itself) of every session of the sample: fresh ids (one new id per sample id in a copy, so a
 * session's items still name each other), times moved by one offset per session, kept when every
 * time of the session stays in its UTC day (else not moved).
 */
function* copiesOf(
  sample: Sample,
  from: number,
  to: number,
  random: () => number,
  historyDayOf: (at: string, mediaSessionId: string) => string,
): Generator<{ table: string; item: Item }> {
  for (let n = Math.max(1, from); n < to; n++) {
    const ids = new Map<string, string>();
    const freshId = (id: string) => {
      let fresh = ids.get(id);
      if (!fresh) {
        fresh = randomUUID();
        ids.set(id, fresh);
      }
      return fresh;
    };
    for (const group of sample.bySession.values()) {
      let offset = Math.round(((random() * 2 - 1) * JITTER_MS) / 1000) * 1000;
      const dayOf = (ms: number) => Math.floor(ms / 86_400_000);
      if (group.some(({ item }) => timesOf(item).some((t) => dayOf(t) !== dayOf(t + offset)))) offset = 0;
      const move = (text: string) =>
        text
          .replace(UUID, freshId)
          .replace(ISO_TIME, (time) =>
            offset === 0 ? time : new Date(Date.parse(time) + offset).toISOString(),
          );
      for (const { table, item } of group) {
        const copy = rewriteItem(item, move);
        // The byDay index's shard is a hash of the stream's id: made again by its owner for the new id.
        if (copy.historyDay?.S && copy.mediaSessionId?.S)
          copy.historyDay = { S: historyDayOf(copy.historyDay.S.slice(0, 10), copy.mediaSessionId.S) };
        // A refusal's sort key is its time and the hook's digest (`refusalCounter`), not a UUID: made
        // unique as the owner makes it without a digest, or an unmoved copy would overwrite it.
        if (copy.refusedAt?.S && copy.window?.S)
          copy.window = { S: `${copy.refusedAt.S}#${randomUUID().slice(0, 16)}` };
        yield { table, item: copy };
      }
    }
  }
}

/** Writes `items` with BatchWriteItem, `WRITERS` requests in flight, unprocessed items retried. */
async function writeAll(
  client: DynamoDBClient,
  items: Iterable<{ table: string; item: Item }>,
  total: number,
): Promise<number> {
  let written = 0;
  const started = performance.now();
  let lastLine = started;
  const writeBatch = async (requests: Record<string, WriteRequest[]>) => {
    let pending: Record<string, WriteRequest[]> | undefined = requests;
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      const answer: BatchWriteItemCommandOutput = await client.send(
        new BatchWriteItemCommand({ RequestItems: pending }),
      );
      pending = answer.UnprocessedItems;
    }
    written += Object.values(requests).reduce((n, r) => n + r.length, 0);
    const now = performance.now();
    if (now - lastLine >= 10_000) {
      lastLine = now;
      const rate = Math.round((written * 1000) / (now - started));
      progress(`analytics: copied ${written} of ${total} items (${rate}/s)`);
    }
  };
  const inFlight = new Set<Promise<void>>();
  let batch: Record<string, WriteRequest[]> = {};
  let size = 0;
  const flush = async () => {
    if (size === 0) return;
    const request = writeBatch(batch);
    batch = {};
    size = 0;
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request)).catch(() => {});
    if (inFlight.size >= WRITERS) await Promise.race(inFlight);
  };
  for (const { table, item } of items) {
    const requests = batch[table] ?? [];
    batch[table] = requests;
    requests.push({ PutRequest: { Item: item } });
    if (++size === 25) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  return written;
}

/** Bytes of the files under `dir`. */
function bytesUnder(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  return bytes;
}

/** `npm run cli -- export --to DIR` as an analyst runs it, under `/usr/bin/time` for its peak RSS. */
async function runExport(endpoint: string, to: string): Promise<{ seconds: number; peakRssMiB: number }> {
  const started = performance.now();
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(
      '/usr/bin/time',
      ['-f', 'peak-rss-kib %M', process.execPath, 'infra/cli.ts', 'export', '--to', to],
      {
        cwd: root,
        env: {
          ...process.env,
          DYNAMODB_ENDPOINT: endpoint,
          TABLE_PREFIX: PREFIX,
          POWERTOOLS_LOG_LEVEL: 'ERROR',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let last = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      const now = performance.now();
      const line = chunk.toString().trim().split('\n').at(-1);
      if (now - last >= 10_000 && line) {
        last = now;
        progress(`analytics: ${line}`);
      }
    });
    child.once('exit', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`export exited ${code}:\n${stderr}`);
  const kib = Number(/peak-rss-kib (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  return { seconds, peakRssMiB: kib / 1024 };
}

/** Seconds `run` takes. */
async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { seconds: (performance.now() - started) / 1000, value };
}

export async function analyticsBench(endpoint: string): Promise<void> {
  configureInProcess(endpoint);
  const client = localDynamoDbClient(endpoint);
  const { copies, sampleStreams, sampleViewers } = analyticsScale();
  progress(
    `analytics: a sample day of ${sampleStreams} publishes and ${sampleViewers} viewers through the hooks`,
  );
  const sent = await sendSample(endpoint);
  const sample = await readSample(client);
  const total = sample.items * (copies - 1);
  const copiesPerPart = Math.max(1, Math.floor(PART_ITEMS / sample.items));
  const parts = Math.ceil(copies / copiesPerPart);
  progress(
    `analytics: ${sample.items} items in the sample; ${copies - 1} copies of it (${total} items), written and exported in ${parts} part(s) of up to ${copiesPerPart} copies (ANALYTICS_PART_ITEMS ${PART_ITEMS})`,
  );
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  // The streams table's owner, imported once this process points at `endpoint`.
  const { historyDayOf } = await import('#shared/state/streams.ts');
  const to = join(work, 'analytics-export');
  const exported = { seconds: 0, peakRssMiB: 0 };
  const copy = { seconds: 0, value: 0 };
  let partDynamo: { endpoint: string; stop: () => Promise<void> } | undefined;
  let partEndpoint = endpoint;
  let partClient = client;
  for (let part = 0; part < parts; part++) {
    const from = part * copiesPerPart;
    const until = Math.min(copies, from + copiesPerPart);
    if (part > 0) {
      // Each later part in a fresh DynamoDB Local with the tables as `npm start` makes them (the
      // last one stopped first, its memory given back). Dropping and making the tables again in the
      // same DynamoDB Local was tried: its writes then went 40 items/s, not 850.
      partClient.destroy();
      if (partDynamo) await partDynamo.stop();
      else await stopDynamoDbForProcess();
      partDynamo = await startDynamoDbLocalWithTables({ port: await freePort(), tablePrefix: PREFIX });
      partEndpoint = partDynamo.endpoint;
      partClient = localDynamoDbClient(partEndpoint);
    }
    const first = Math.max(1, from); // copy 0 is the sample itself
    const items = sample.items * (until - first);
    progress(`analytics: part ${part + 1} of ${parts}: copies ${first} to ${until - 1}`);
    const written = await timed(() =>
      writeAll(partClient, copiesOf(sample, from, until, random, historyDayOf), items),
    );
    copy.seconds += written.seconds;
    copy.value += written.value;
    progress(`analytics: part ${part + 1} of ${parts}: export...`);
    const partDir = join(work, `analytics-export-part-${part}`);
    const run = await runExport(partEndpoint, partDir);
    exported.seconds += run.seconds;
    exported.peakRssMiB = Math.max(exported.peakRssMiB, run.peakRssMiB);
    for (const view of VIEWS) {
      mkdirSync(join(to, view.name), { recursive: true });
      renameSync(join(partDir, view.name, 'part-0.parquet'), join(to, view.name, `part-${part}.parquet`));
    }
  }
  partClient.destroy();
  await partDynamo?.stop();
  const engine = await AnalyticsEngine.overExport(to);
  const rowsOfView: Record<string, number> = {};
  for (const view of VIEWS)
    rowsOfView[view.name] = Number((await engine.query(`SELECT count(*) AS n FROM ${view.name}`))[0]?.n);
  const rows = Object.values(rowsOfView).reduce((a, b) => a + b, 0);
  const parquetBytes = bytesUnder(to);

  const scale = `${STREAMS.toLocaleString('en')} streams, ${VIEWERS.toLocaleString('en')} viewers (ANALYTICS_STREAMS, ANALYTICS_VIEWERS)`;
  table(
    `Analytics: a day exported (${scale})`,
    ['step', 'items or rows', 'seconds', 'per second', 'other'],
    [
      [
        'sample day through the hooks (simulator, npm start)',
        `${sent.hooks} hooks`,
        fmt(sent.seconds),
        fmt(sent.hooks / sent.seconds, 0),
        `${sent.refused} refused`,
      ],
      [
        'copies written (BatchWriteItem)',
        total,
        fmt(copy.seconds),
        fmt(total / copy.seconds, 0),
        `${copies - 1} copies of ${sample.items} items${parts > 1 ? `, in ${parts} parts` : ''}`,
      ],
      [
        'export (npm run cli -- export)',
        rows,
        fmt(exported.seconds),
        fmt(rows / exported.seconds, 0),
        `${fmt(parquetBytes / 2 ** 20)} MiB Parquet, peak RSS ${fmt(exported.peakRssMiB, 0)} MiB${parts > 1 ? `; ${parts} exports of a part each, their seconds added` : ''}`,
      ],
    ],
    [
      `Rows per view (and the sample's items × ${copies}, what the export must find): ${VIEWS.map((v) => `${v.name} ${rowsOfView[v.name]} (${(sample.perView[v.name] ?? 0) * copies})`).join(', ')}.`,
      `The day is a sample of ${sampleViewers} viewers and ${sampleStreams + SIMULATOR_DAILY_PUBLISHES} publishes (the simulator's two daily refusing moments among them) sent through the hook endpoints by the traffic simulator, and ${copies - 1} copies of it with fresh ids and times moved up to ${JITTER_MS / 60_000} min in their day: the items are the hooks' own, not a model of them. The hooks' own cost is the throughput benchmark's, not measured here. The export reads every item with a paged Scan of DynamoDB Local, which bounds its rate.`,
      ...(parts > 1
        ? [
            `Written and exported in ${parts} parts of at most ${PART_ITEMS.toLocaleString('en')} items (ANALYTICS_PART_ITEMS), each in a DynamoDB Local of its own (the last one stopped first): DynamoDB Local in memory holds about 6.3 KB an item (9.8 GB resident at 1.56 million items, measured), so the whole day at once would need about ${fmt((sample.items * copies * 6.3) / 2 ** 20, 0)} GB. Each part's export is \`npm run cli -- export\` as an analyst runs it; the parts' Parquet files are put side by side (\`<view>/part-N.parquet\`, the layout an export writes), and every query below runs over the whole day.`,
          ]
        : []),
    ],
  );

  const queryRows: (string | number)[][] = [];
  for (const query of SAVED_QUERIES) {
    const text = query.sql.replace(/--.*$/gm, '');
    const views = VIEWS.filter((v) => new RegExp(`\\b${v.name}\\b`).test(text)).map((v) => v.name);
    const baselineSql = views
      .map((v) => `SELECT count(*) FROM ${v} WHERE hash(${v}) IS NOT NULL`)
      .join(' UNION ALL ');
    const times: number[] = [];
    const baselines: number[] = [];
    let answered = 0;
    for (let round = 0; round < ROUNDS; round++) {
      baselines.push((await timed(() => engine.query(baselineSql))).seconds);
      const run = await timed(() => engine.query(query.sql));
      times.push(run.seconds);
      answered = run.value.length;
    }
    const ms = median(times) * 1000;
    const baselineMs = median(baselines) * 1000;
    queryRows.push([
      `\`${query.name}\``,
      views.join(', '),
      answered,
      fmt(ms, 0),
      fmt(baselineMs, 0),
      fmt(ms / baselineMs, 2),
    ]);
    progress(`analytics: ${query.name}: ${fmt(ms, 0)} ms, ${answered} rows`);
  }
  engine.close();
  table(
    `Analytics: every saved query over the export (${scale})`,
    ['saved query', 'views', 'rows returned', 'ms (median)', 'baseline ms', 'ratio'],
    queryRows,
    [
      `Median of ${ROUNDS} rounds (ANALYTICS_ROUNDS), each query run as \`npm run cli -- sql --saved NAME\` runs it (DuckDB over the Parquet files, the answer read into JavaScript rows). Baseline, interleaved: every column of the views the query names read once (\`SELECT count(*) FROM view WHERE hash(view) IS NOT NULL\`), answer one row.`,
    ],
  );
}
