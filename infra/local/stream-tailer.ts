/**
 * Tails the DynamoDB Streams of tables of DynamoDB Local and hands their records over as Lambda's
 * DynamoDB event source hands them to the stream consumer function in AWS. Polls each shard
 * every `intervalMs` and follows new shards, each read from its start: records made before the
 * tailer started are history, not news, and are skipped. DynamoDB Local stamps records to the minute,
 * so up to a minute of changes made just before the start may be pushed once. DynamoDB Local also
 * invalidates an iterator taken on an empty shard (TrimmedDataAccessException), so an iterator is
 * taken again, after the last record read.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';

interface ShardState {
  readonly streamArn: string;
  readonly shardId: string;
  iterator: string | undefined;
  lastSequence: string | undefined;
}

export function startStreamTailer(
  endpoint: string,
  tableNames: readonly string[],
  onRecords: (records: DynamoDBRecord[]) => Promise<unknown>,
  intervalMs = 200,
): () => Promise<void> {
  const dynamo = new DynamoDBClient({ endpoint });
  const streams = new DynamoDBStreamsClient({ endpoint });
  let running = true;
  // Stream records are stamped to the minute (DynamoDB Local): news is what is stamped from this minute on.
  const since = new Date(Math.floor(Date.now() / 60_000) * 60_000);

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
          });
        }
      }
    };
    let rounds = 0;
    while (running) {
      if (rounds++ % 25 === 0) await discover().catch(() => undefined);
      for (const shard of shards.values()) {
        try {
          shard.iterator ??= await iteratorOf(shard);
          if (!shard.iterator) continue;
          const { Records = [], NextShardIterator } = await streams.send(
            new GetRecordsCommand({ ShardIterator: shard.iterator }),
          );
          shard.iterator = NextShardIterator;
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
          if (records.length > 0) await onRecords(records);
        } catch {
          // An invalidated iterator: taken again next round, after the last record read.
          shard.iterator = undefined;
        }
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
    dynamo.destroy();
    streams.destroy();
  };
}
