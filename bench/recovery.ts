/**
 * Recovery: how fast `npm start` writes what it spilled during a DynamoDB outage, while hooks keep
 * arriving at the same rate.
 *
 * The intake first: the highest `StreamStatusEvent` rate `npm start` sustains with DynamoDB up, the
 * hooks that reach the table per second under autocannon (closed loop). Then, for each fraction of it, a fresh DynamoDB Local on disk and a fresh
 * `npm start`: hooks at that rate, open loop (each a new stream, so each one item); 5 s in, DynamoDB
 * Local is stopped for `RECOVERY_OUTAGE_S` (10) seconds and started again on the same files (the
 * outage lasts until it answers again: its start is part of it); the hooks go on until the spill is
 * empty. Measured: the backlog (the most lines the spill held, when DynamoDB came back),
 * the seconds from its return until the spill was empty (read from `SPILL_DIR`: the lines of each file
 * not yet in its `.done` list), the drain rate (backlog / those seconds) and its ratio to the intake
 * rate. Then the check that makes the figure honest: every hook answered 200 is an item in the table
 * (a Scan count), none is in the dead-letter file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { Agent, request } from 'undici';
import {
  freePort,
  localDynamoDbClient,
  startDynamoDbLocal,
  startDynamoDbLocalWithTables,
} from '../infra/local/dynamodb-local.ts';
import { localTableName } from '../infra/local/tables.ts';
import { cannon, fmt, PREFIX, progress, streamBody, table, withServer, work } from './support.ts';

const OUTAGE_S = Number(process.env.RECOVERY_OUTAGE_S ?? 10);
/** The fractions of the sustained intake the recovery runs at (0.4: where drain / intake is 1.5 if the drain is as fast as a live write). */
const FRACTIONS = [0.25, 0.4];
/** After DynamoDB's return, how long the drain may take before the run says it did not finish. */
const GIVE_UP_S = 180;
/** How long the drain alone (no hooks arriving) is watched, on the intake run's warm DynamoDB Local. */
const DRAIN_ALONE_S = 30;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lines in the spill not yet written: each draining file's lines not in its `.done` list, and the live file's. */
export function linesLeft(dir: string): number {
  if (!existsSync(dir)) return 0;
  let left = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.jsonl') || name === 'dead-letter.jsonl') continue;
    const path = join(dir, name);
    let lines = 0;
    try {
      lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      continue; // drained and deleted meanwhile
    }
    let done = 0;
    if (existsSync(`${path}.done`)) {
      try {
        done = new Set(
          readFileSync(`${path}.done`, 'utf8')
            .split('\n')
            .filter((l) => /^\d+$/.test(l)),
        ).size;
      } catch {
        // deleted meanwhile
      }
    }
    left += Math.max(0, lines - done);
  }
  return left;
}

const deadLettered = (dir: string) => {
  const path = join(dir, 'dead-letter.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
};

/** Hooks at `rate` a second, open loop, until `stop()`: a new stream each, sent as WCS sends them. */
function openLoop(base: string, rate: number) {
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
  const answered = { ok: 0, other: 0, failed: 0 };
  let stopped = false;
  let sent = 0;
  let inFlight = 0;
  /** Hooks the loop could not send on time because 500 were already waiting (the rate was not kept). */
  let behind = 0;
  const started = performance.now();
  const running: Promise<void>[] = [];
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due) {
      sent++;
      if (inFlight >= 500) {
        behind++;
        continue;
      }
      inFlight++;
      const body = streamBody(crypto.randomUUID(), 'PUBLISHING');
      const call = request(`${base}/hooks/StreamStatusEvent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher,
      })
        .then(async (response) => {
          await response.body.arrayBuffer();
          if (response.statusCode === 200) answered.ok++;
          else answered.other++;
        })
        .catch((error: Error) => {
          answered.failed++;
          if (answered.failed === 1) progress(`recovery: a hook failed: ${error.message}`);
        })
        .finally(() => {
          inFlight--;
        });
      running.push(call);
    }
    if (stopped) clearInterval(timer);
  }, 10);
  return {
    answered,
    get behind() {
      return behind;
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all(running);
      await dispatcher.close();
    },
  };
}

async function countItems(endpoint: string, tableName: string): Promise<number> {
  const client = localDynamoDbClient(endpoint);
  let count = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  try {
    do {
      const page = await client.send(
        new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: start }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return count;
}

/** `task` against `npm start` on a fresh on-disk DynamoDB Local that it may stop and start again. */
async function withRestartableRuntime<T>(
  task: (run: {
    base: string;
    spillDir: string;
    stopDynamo: () => Promise<void>;
    startDynamo: () => Promise<void>;
    endpoint: string;
  }) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(work, 'recovery-'));
  const port = await freePort();
  const options = { port, dataDir: join(dataDir, 'db'), tablePrefix: PREFIX };
  let dynamo = await startDynamoDbLocalWithTables(options);
  const spillDir = join(dataDir, 'spill');
  try {
    return await withServer(
      'infra/local/main.ts',
      {
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        HOST: '127.0.0.1',
        TABLE_PREFIX: PREFIX,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        SPILL_DIR: spillDir,
      },
      (line) => line.includes('[wcs-hooks] ready'),
      (base) =>
        task({
          base,
          spillDir,
          endpoint: dynamo.endpoint,
          stopDynamo: () => dynamo.stop(),
          // Its tables are on disk: it is back the moment it answers (the drain may begin then).
          startDynamo: async () => {
            dynamo = await startDynamoDbLocal(options);
          },
        }),
    );
  } finally {
    await dynamo.stop();
  }
}

/**
 * The highest `StreamStatusEvent` rate `npm start` sustains with DynamoDB up: the hooks that reached
 * the table during an autocannon run (10 connections, closed loop), over its duration. Not the
 * hooks answered: a write past `EVENT_BUDGET_MS` is spilled and answered at once (and trips the
 * breaker, so the next `SPILL_BREAKER_MS` of hooks spill too), so on a starved machine the answers
 * can outrun what the tables take many times over; both are reported.
 */
async function sustainedIntake(): Promise<{
  answered: number;
  written: number;
  spilled: number;
  drainedAlone: number | undefined;
}> {
  return withRestartableRuntime(async ({ base, endpoint, spillDir }) => {
    const started = performance.now();
    const result = await cannon(`${base}/hooks/StreamStatusEvent`, () =>
      streamBody(crypto.randomUUID(), 'PUBLISHING'),
    );
    const seconds = (performance.now() - started) / 1000;
    const spilled = linesLeft(spillDir);
    const items = await countItems(endpoint, localTableName(PREFIX, 'streams'));
    // The drain alone, on the same warm DynamoDB Local: the lines the run left in the spill, written
    // with no hook arriving, over DRAIN_ALONE_S (or until the spill is empty).
    const drainStarted = performance.now();
    const before = linesLeft(spillDir);
    while (linesLeft(spillDir) > 0 && performance.now() - drainStarted < DRAIN_ALONE_S * 1000)
      await pause(200);
    const drainedAlone =
      before === 0 ? undefined : (before - linesLeft(spillDir)) / ((performance.now() - drainStarted) / 1000);
    return { answered: result.rps, written: items / seconds, spilled, drainedAlone };
  });
}

async function recoveryAt(rate: number) {
  return withRestartableRuntime(async ({ base, spillDir, endpoint, stopDynamo, startDynamo }) => {
    const load = openLoop(base, rate);
    await pause(5000);
    await stopDynamo();
    const outageStarted = performance.now();
    // The backlog is the most the spill held: sampled until DynamoDB answers again, since the drain
    // may take lines in the moment between its return and the first look here.
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, linesLeft(spillDir));
    }, 100);
    await pause(OUTAGE_S * 1000);
    await startDynamo();
    const back = performance.now();
    clearInterval(sampler);
    const outage = (back - outageStarted) / 1000;
    const backlog = Math.max(peak, linesLeft(spillDir));
    let drainedAfter: number | undefined;
    while ((performance.now() - back) / 1000 < GIVE_UP_S) {
      if (linesLeft(spillDir) === 0) {
        drainedAfter = (performance.now() - back) / 1000;
        break;
      }
      await pause(200);
    }
    await load.stop();
    // The hooks answered while the last lines drained are written too before anything is counted
    // (for at most another GIVE_UP_S: a drain that never ends is reported, not waited for forever).
    const stopped = performance.now();
    while (linesLeft(spillDir) > 0 && (performance.now() - stopped) / 1000 < GIVE_UP_S) await pause(200);
    await pause(1000);
    const items = await countItems(endpoint, localTableName(PREFIX, 'streams'));
    return {
      outage,
      backlog,
      drainedAfter,
      answered: load.answered,
      behind: load.behind,
      items,
      deadLettered: deadLettered(spillDir),
    };
  });
}

export async function recovery(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  progress('recovery: the sustained intake...');
  const intake = await sustainedIntake();
  const sustained = intake.written;
  const rows: (string | number)[][] = [];
  const met: boolean[] = [];
  for (const fraction of FRACTIONS) {
    const rate = Math.max(0.1, Math.round(sustained * fraction * 10) / 10);
    progress(`recovery: ${rate} hooks/s (${fraction} of ${fmt(sustained)}), a ${OUTAGE_S} s outage...`);
    const r = await recoveryAt(rate);
    const drainRate =
      r.drainedAfter === undefined || r.drainedAfter === 0 ? undefined : r.backlog / r.drainedAfter;
    const ratio = drainRate === undefined ? undefined : drainRate / rate;
    met.push(r.drainedAfter !== undefined && r.drainedAfter <= 30 && ratio !== undefined && ratio >= 1.5);
    rows.push([
      `${rate} (${fraction})`,
      fmt(r.outage),
      r.backlog,
      r.drainedAfter === undefined ? `not drained in ${GIVE_UP_S} s` : fmt(r.drainedAfter),
      drainRate === undefined ? '-' : fmt(drainRate),
      ratio === undefined ? '-' : fmt(ratio, 2),
      `${r.answered.ok} / ${r.answered.other} / ${r.answered.failed}`,
      r.behind,
      `${r.items} of ${r.answered.ok}${r.items === r.answered.ok ? ' ✓' : ' ✗'}`,
      r.deadLettered,
    ]);
  }
  table(
    `Recovery after a ${OUTAGE_S} s DynamoDB outage (local runtime, DynamoDB Local on disk)`,
    [
      'intake hooks/s (fraction of sustained)',
      'outage, until DynamoDB Local answered again (s)',
      'backlog (lines spilled)',
      'drained after its return (s)',
      'drain rate (lines/s)',
      'drain / intake',
      'answered 200 / other / failed',
      'not sent on time',
      'items written of hooks answered 200',
      'dead-lettered',
    ],
    rows,
    [
      `Load average (1 min) at the start and the end: ${fmt(loadBefore, 2)}, ${fmt(loadavg()[0] ?? 0, 2)} (on ${availableParallelism()} cores).`,
      `The sustained intake, ${fmt(sustained)} StreamStatusEvent/s, is what reached the table while \`npm start\` was sent hooks as fast as it answered them with DynamoDB Local up (autocannon, 10 connections, each a new stream); it answered ${fmt(intake.answered)}/s, the rest spilled (${intake.spilled} lines left in the spill at the end: a write past \`EVENT_BUDGET_MS\` is spilled and answered, and trips the breaker). ${intake.drainedAlone === undefined ? 'None was left, so the drain alone (its own speed against DynamoDB Local, with no hook arriving) was not measured in this run.' : `Those lines, drained with no hook arriving on the same warm DynamoDB Local, went at ${fmt(intake.drainedAlone)} lines/s (${fmt(intake.drainedAlone / sustained, 2)}x the sustained intake): the drain's own speed against DynamoDB Local's.`} The recovery runs at fractions of it: with DynamoDB taking C hooks/s and an intake of r, the backlog drains at about C - r, so drain / intake ≥ 1.5 needs r ≤ 0.4 C. The hooks are sent open loop (at a fixed rate, whatever the answers), each a new stream: one item each. DynamoDB Local is stopped ${OUTAGE_S} s after 5 s of hooks and started again on its files; the hooks go on at the same rate until the spill is empty. The drain rate is the backlog over the time to drain it while the intake continues; "drain / intake" is that rate over the intake's. Target: the backlog in the tables within 30 s of DynamoDB's return, drain / intake ≥ 1.5: ${met.filter(Boolean).length} of ${met.length} met. The last columns are the check that nothing was lost: every hook answered 200 is an item.`,
    ],
  );
}
