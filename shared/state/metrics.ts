/**
 * The `metrics` table: stream metric samples read from the WCS nodes by the node poller, one item
 * per stream and sample time (`stream` = `<nodeId>#<mediaSessionId>`, `timestamp` in epoch ms),
 * kept `METRICS_RETENTION_HOURS`. The one module that reads and writes it.
 *
 * Write cost: one write unit per sample (an item of 16 metrics is ~0.4 KB), written 25 to a
 * BatchWriteItem request. The last N samples of a stream are one Query.
 */
import { setting } from '../kernel/config.ts';
import { batchPutAll, queryUpTo, tableNameOf } from '../store/dynamo.ts';

const tableName = () => tableNameOf('metrics');
const retentionHours = setting('METRICS_RETENTION_HOURS');

/** One sample of a stream: the metrics by OAM `enumName`, and when it was taken. */
export interface MetricSample {
  readonly nodeId: string;
  readonly mediaId: string;
  readonly name?: string;
  readonly timestamp: number;
  readonly values: Readonly<Record<string, number | string>>;
}

export const streamKeyOf = (nodeId: string, mediaId: string) => `${nodeId}#${mediaId}`;

/** Writes `samples`, 25 to a request (`batchPutAll`). */
export function writeSamples(samples: readonly MetricSample[]): Promise<void> {
  return batchPutAll(
    tableName(),
    samples.map((s) => ({
      stream: streamKeyOf(s.nodeId, s.mediaId),
      timestamp: s.timestamp,
      nodeId: s.nodeId,
      mediaId: s.mediaId,
      ...(s.name !== undefined && { name: s.name }),
      values: s.values,
      expiresAt: Math.floor(s.timestamp / 1000) + retentionHours * 3600,
    })),
  );
}

/** A sample as OAM pushes and answers it: the metrics, and `timestamp`. */
export const sampleView = (item: { values?: unknown; timestamp?: unknown }) => ({
  ...(item.values as Record<string, unknown>),
  timestamp: Number(item.timestamp),
});

/**
 * The samples of a stream, newest first: `limit` of them after skipping `offset`, taken at or after
 * `since` (epoch ms) when given.
 */
export async function lastSamples(
  nodeId: string,
  mediaId: string,
  page: { limit: number; offset: number; since?: number },
): Promise<ReturnType<typeof sampleView>[]> {
  const items = await queryUpTo(
    {
      TableName: tableName(),
      KeyConditionExpression: page.since === undefined ? '#s = :s' : '#s = :s AND #t >= :since',
      ExpressionAttributeNames: { '#s': 'stream', ...(page.since !== undefined && { '#t': 'timestamp' }) },
      ExpressionAttributeValues: {
        ':s': streamKeyOf(nodeId, mediaId),
        ...(page.since !== undefined && { ':since': page.since }),
      },
      ScanIndexForward: false,
    },
    page.offset + page.limit,
  );
  return items.slice(page.offset).map(sampleView);
}
