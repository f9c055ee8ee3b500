/**
 * Recovery: how fast `npm start` writes what it spilled during a DynamoDB outage, while hooks keep
 * arriving at the same rate.
 *
 * The intake first: the highest `StreamStatusEvent` rate `npm start` sustains with DynamoDB up
 * (autocannon, closed loop). Then, for each fraction of it, a fresh DynamoDB Local on disk and a fresh
 * `npm start`: hooks at that rate, open loop (each a new stream, so each one item); 5 s in, DynamoDB
 * Local is stopped for `RECOVERY_OUTAGE_S` (10) seconds and started again on the same files; the hooks
 * go on until the spill is empty. Measured: the backlog (lines in the spill when DynamoDB came back),
 * the seconds from its return until the spill was empty (read from `SPILL_DIR`: the lines of each file
 * not yet in its `.done` list), the drain rate (backlog / those seconds) and its ratio to the intake
 * rate. Then the check that makes the figure honest: every hook answered 200 is an item in the table
 * (a Scan count), none is in the dead-letter file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Agent, request } from 'undici';
import { freePort, startDynamoDbLocalWithTables } from '../infra/local/dynamodb-local.ts';
import { localTableName } from '../infra/local/tables.ts';
import { cannon, fmt, PREFIX, progress, streamBody, table, withServer, work } from './support.ts';

const OUTAGE_S = Number(process.env.RECOVERY_OUTAGE_S ?? 10);
/** The fractions of the sustained intake the recovery runs at. */
const FRACTIONS = [0.25, 0.5];
/** After DynamoDB's return, how long the drain may take before the run says it did not finish. */
const GIVE_UP_S = 180;

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
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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
          startDynamo: async () => {
            dynamo = await startDynamoDbLocalWithTables(options);
          },
        }),
    );
  } finally {
    await dynamo.stop();
  }
}

/** The highest `StreamStatusEvent` rate `npm start` sustains with DynamoDB up (autocannon, 10 connections). */
async function sustainedIntake(): Promise<number> {
  return withRestartableRuntime(async ({ base }) => {
    const result = await cannon(`${base}/hooks/StreamStatusEvent`, () =>
      streamBody(crypto.randomUUID(), 'PUBLISHING'),
    );
    return result.rps;
  });
}

async function recoveryAt(rate: number) {
  return withRestartableRuntime(async ({ base, spillDir, endpoint, stopDynamo, startDynamo }) => {
    const load = openLoop(base, rate);
    await pause(5000);
    await stopDynamo();
    const outageStarted = performance.now();
    await pause(OUTAGE_S * 1000);
    await startDynamo();
    const outage = (performance.now() - outageStarted) / 1000;
    const backlog = linesLeft(spillDir);
    const back = performance.now();
    let drainedAfter: number | undefined;
    while ((performance.now() - back) / 1000 < GIVE_UP_S) {
      if (linesLeft(spillDir) === 0) {
        drainedAfter = (performance.now() - back) / 1000;
        break;
      }
      await pause(200);
    }
    await load.stop();
    // The hooks answered while the last lines drained are written too before anything is counted.
    while (linesLeft(spillDir) > 0) await pause(200);
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
  progress('recovery: the sustained intake...');
  const sustained = await sustainedIntake();
  const rows: (string | number)[][] = [];
  const met: boolean[] = [];
  for (const fraction of FRACTIONS) {
    const rate = Math.max(1, Math.round(sustained * fraction));
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
      'outage (s)',
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
      `The sustained intake, ${fmt(sustained)} StreamStatusEvent/s, is what \`npm start\` answered with DynamoDB Local up (autocannon, 10 connections, each a new stream); at that rate DynamoDB Local has no time left over, so the recovery runs at fractions of it. The hooks are sent open loop (at a fixed rate, whatever the answers), each a new stream: one item each. DynamoDB Local is stopped ${OUTAGE_S} s after 5 s of hooks and started again on its files; the hooks go on at the same rate until the spill is empty. The drain rate is the backlog over the time to drain it while the intake continues; "drain / intake" is that rate over the intake's. Target: the backlog in the tables within 30 s of DynamoDB's return, drain / intake ≥ 1.5: ${met.filter(Boolean).length} of ${met.length} met. The last columns are the check that nothing was lost: every hook answered 200 is an item.`,
    ],
  );
}
