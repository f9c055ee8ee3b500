/**
 * The tables as analysts query them: one view per source, with flat, typed columns (times are UTC
 * `timestamp`s), the same locally (the Parquet files `npm run cli -- export` writes, read by DuckDB)
 * and in AWS (Athena views over the DynamoDB exports in S3). The saved queries (`queries/*.sql`) name
 * only these views and columns, so one text runs on both (docs/analytics.md).
 *
 * A column is an attribute of the item (`attribute`, default its own name) of a type; `liveAt` alone
 * is derived (the first PUBLISHING or PLAYING of the stream's `statusHistory`, as the usage
 * aggregates take it).
 */
import type { TableName } from '#shared/kernel/registry.ts';

export type ColumnType = 'varchar' | 'bigint' | 'double' | 'boolean' | 'timestamp';

export interface ViewColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** The item's attribute, when it is not `name`. */
  readonly attribute?: string;
  /** Derived from the item's `statusHistory` rather than read from one attribute. */
  readonly derived?: 'liveAt';
}

export interface AnalyticsView {
  /** The view's name, as the saved queries use it. */
  readonly name: 'sessions' | 'streams' | 'dataMessages' | 'refusals';
  /** The table it reads. */
  readonly table: TableName;
  /** Which items of the table are rows (the attribute and the prefix its value starts with). */
  readonly rowsWhere?: { readonly attribute: string; readonly prefix: string };
  readonly columns: readonly ViewColumn[];
  /** What a row is, for the docs. */
  readonly row: string;
}

const v = (name: string, type: ColumnType = 'varchar'): ViewColumn => ({ name, type });

export const VIEWS: readonly AnalyticsView[] = [
  {
    name: 'sessions',
    table: 'sessions',
    row: 'one WCS session (its current generation)',
    columns: [
      v('sessionId'),
      v('generation', 'bigint'),
      v('appKey'),
      v('nodeId'),
      v('userId'),
      v('tokenId'),
      v('status'),
      v('info'),
      v('connectSeen', 'boolean'),
      v('firstSeenBy'),
      v('provisional', 'boolean'),
      v('revoked', 'boolean'),
      v('connectedAt', 'timestamp'),
      v('firstStatusAt', 'timestamp'),
      v('generationStartedAt', 'timestamp'),
      v('lastStatusAt', 'timestamp'),
      v('endedAt', 'timestamp'),
      v('endDetectedAt', 'timestamp'),
      v('clientVersion'),
      v('clientOSVersion'),
      v('clientBrowserVersion'),
      v('custom'),
    ],
  },
  {
    name: 'streams',
    table: 'streams',
    row: 'one media session: a publish or a play of a stream name',
    columns: [
      v('sessionId'),
      v('mediaSessionId'),
      v('appKey'),
      v('nodeId'),
      v('name'),
      v('published', 'boolean'),
      v('status'),
      v('info'),
      v('provisional', 'boolean'),
      v('firstStatusAt', 'timestamp'),
      { name: 'liveAt', type: 'timestamp', derived: 'liveAt' },
      v('lastStatusAt', 'timestamp'),
      v('stopRequestedAt', 'timestamp'),
      v('endedAt', 'timestamp'),
      v('endDetectedAt', 'timestamp'),
      v('mediaProvider'),
      v('audioCodec'),
      v('videoCodec'),
      v('width', 'bigint'),
      v('height', 'bigint'),
      v('record', 'boolean'),
      v('custom'),
    ],
  },
  {
    name: 'dataMessages',
    table: 'dataMessages',
    row: 'one data message: IN from a client (OnDataEvent), OUT to one (a send)',
    columns: [
      v('sessionId'),
      v('operationId'),
      v('appKey'),
      v('nodeId'),
      v('direction'),
      v('decision'),
      v('status'),
      v('info'),
      v('target'),
      v('outcome'),
      v('reason'),
      v('attempts', 'bigint'),
      v('payloadBytes', 'bigint'),
      v('jobId'),
      v('receivedAt', 'timestamp'),
    ],
  },
  {
    name: 'refusals',
    table: 'counters',
    rowsWhere: { attribute: 'counter', prefix: 'refusals#' },
    row: 'one refused hook (connect, publish, play, data or keep-alive), with its reason',
    columns: [v('appKey'), v('method'), v('reason'), v('sessionId'), v('refusedAt', 'timestamp')],
  },
];
