/**
 * Tails the DynamoDB Streams of tables of DynamoDB Local and hands their records over as Lambda's
 * DynamoDB event source hands them to the stream consumer function in AWS. Polls each shard
 * every `intervalMs` and follows new shards, each read from its start: records made before the
 * tailer started are history, not news, and are skipped. DynamoDB Local stamps records to the minute,
 * so up to a minute of changes made just before the start may be pushed once. DynamoDB Local also
 * invalidates an iterator taken on an empty shard (TrimmedDataAccessException), so an iterator is
 * taken again, after the last record read. `fromStart` hands over every record the streams hold
 * instead (DynamoDB Local keeps 24 hours), for a consumer that applies a change twice harmlessly.
 * With `idleIntervalMs`, rounds that find nothing space out (doubling) up to it, and `wake()` (a
 * hook arrived) brings the next round at once: idle, the tailer costs a request per shard that often.
 * Records are read and handed over at most `STREAM_BATCH_SIZE` at a time, as Lambda's event source
 * hands them, and a stop waits for at most the batch in hand: a tailer catching up on a long history
 * stops promptly.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { STREAM_BATCH_SIZE } from '#shared/store/tables.ts';
import { localLogger } from './local-logger.ts';

/** Retries of a batch from its failed record, as the deployed event source's `retryAttempts`. */
const MAX_RETRIES = 3;

interface ShardState {
  readonly streamArn: string;
  readonly shardId: string;
  iterator: string | undefined;
  lastSequence: string | undefined;
  /** Attempts at a record that failed, by its sequence number. */
  readonly failures: Map<string, number>;
}

export function startStreamTailer(
  endpoint: string,
  tableNames: readonly string[],
  onRecords: (records: DynamoDBRecord[]) => Promise<DynamoDBBatchResponse | undefined>,
  intervalMs = 200,
  options: { readonly fromStart?: boolean; readonly idleIntervalMs?: number } = {},
): (() => Promise<void>) & { wake(): void } {
  const dynamo = new DynamoDBClient({ endpoint });
  const streams = new DynamoDBStreamsClient({ endpoint });
  let running = true;
  // Idle rounds (no record) double the pause, up to `idleIntervalMs`; a record or `wake` resets it.
  let pauseMs = intervalMs;
  let endPause: (() => void) | undefined;
  let currentPauseMs = 0;
  // Cuts short only a pause longer than `intervalMs`: a busy runtime's requests never hurry the rounds.
  const wake = () => {
    pauseMs = intervalMs;
    if (currentPauseMs > intervalMs || !running) endPause?.();
  };
  // Stream records are stamped to the minute (DynamoDB Local): news is what is stamped from this minute on.
  // With `fromStart`, every record the streams still hold is news (a consumer that is idempotent).
  const since = options.fromStart ? new Date(0) : new Date(Math.floor(Date.now() / 60_000) * 60_000);

  const iteratorOf = async (shard: ShardState) => {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: shard.streamArn,
        ShardId: shard.shardId,
        ...(shard.lastSequence
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.lastSequence }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return ShardIterator;
  };

  const loop = (async () => {
    const shards = new Map<string, ShardState>();
    const discover = async () => {
      for (const tableName of tableNames) {
        const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
        const streamArn = Table?.LatestStreamArn;
        if (!streamArn) continue;
        const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
        for (const { ShardId } of StreamDescription?.Shards ?? []) {
          const key = `${streamArn}/${ShardId}`;
          if (!ShardId || shards.has(key)) continue;
          shards.set(key, {
            streamArn,
            shardId: ShardId,
            iterator: undefined,
            lastSequence: undefined,
            failures: new Map(),
          });
        }
      }
    };
    let rounds = 0;
    while (running) {
      if (rounds++ % 25 === 0) await discover().catch(() => undefined);
      // A shard that gave a full page has more: the next round comes at once (catching up after a start).
      let behind = false;
      let sawRecords = false;
      for (const shard of shards.values()) {
        if (!running) break;
        try {
          shard.iterator ??= await iteratorOf(shard);
          if (!shard.iterator) continue;
          const { Records = [], NextShardIterator } = await streams.send(
            new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: STREAM_BATCH_SIZE }),
          );
          shard.iterator = NextShardIterator;
          if (Records.length >= STREAM_BATCH_SIZE) behind = true;
          const before = shard.lastSequence;
          const last = Records.at(-1)?.dynamodb?.SequenceNumber;
          if (last) shard.lastSequence = last;
          const news = Records.filter((r) => (r.dynamodb?.ApproximateCreationDateTime ?? since) >= since);
          // As Lambda's event source hands them over: the stream's ARN on each, the time in epoch seconds.
          const records = news.map(
            (r) =>
              ({
                ...r,
                eventSourceARN: shard.streamArn,
                dynamodb: {
                  ...r.dynamodb,
                  ApproximateCreationDateTime:
                    (r.dynamodb?.ApproximateCreationDateTime ?? since).getTime() / 1000,
                },
              }) as DynamoDBRecord,
          );
          if (records.length > 0) sawRecords = true;
          const response = records.length > 0 ? await onRecords(records) : undefined;
          const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
          if (failed) {
            // As Lambda's event source: read again from the failed record, a few times; then give it up
            // as it would to the on-failure destination (here, an error in the log).
            const attempts = (shard.failures.get(failed) ?? 0) + 1;
            const at = Records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
            if (attempts <= MAX_RETRIES && at >= 0) {
              shard.failures.set(failed, attempts);
              shard.lastSequence = at > 0 ? Records[at - 1]?.dynamodb?.SequenceNumber : before;
              shard.iterator = undefined;
            } else {
              shard.failures.delete(failed);
              localLogger.error('stream records not delivered after retries', { sequence: failed, attempts });
            }
          }
        } catch {
          // An invalidated iterator: taken again next round, after the last record read.
          shard.iterator = undefined;
        }
      }
      // A stop that came while the round ran ends the tailer now, not after a pause of up to `idleIntervalMs`.
      if (!behind && running)
        await new Promise<void>((resolve) => {
          currentPauseMs = pauseMs;
          const timer = setTimeout(resolve, pauseMs);
          endPause = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      endPause = undefined;
      currentPauseMs = 0;
      pauseMs = sawRecords ? intervalMs : Math.min(pauseMs * 2, options.idleIntervalMs ?? intervalMs);
    }
  })();
  const stop = async () => {
    running = false;
    wake();
    await loop;
    dynamo.destroy();
    streams.destroy();
  };
  return Object.assign(stop, { wake });
}
