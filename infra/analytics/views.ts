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
      v('refusedAt', 'timestamp'),
      v('refusal'),
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
      v('refusedAt', 'timestamp'),
      v('refusal'),
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

/**
 * In AWS: the exports of the tables (DynamoDB JSON, `{"Item": {"<attribute>": {"S": "..."}}}`) are
 * raw Glue tables (`<table>_export`, one column `item`); each view reads its columns out of it. Glue
 * and Athena keep names in lower case: Athena shows `sessionid` for `sessionId`, and the saved
 * queries, whose names are not quoted, find it either way.
 */
const GLUE_TYPES = {
  varchar: 'string',
  bigint: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp',
};
const VIEW_TYPES = {
  varchar: 'varchar',
  bigint: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp(3)',
};
const TYPED_VALUE = {
  varchar: 'struct<S:string>',
  bigint: 'struct<N:string>',
  double: 'struct<N:string>',
  boolean: 'struct<BOOL:boolean>',
  timestamp: 'struct<S:string>',
};
const HISTORY_TYPE = 'struct<L:array<struct<M:struct<status:struct<S:string>,at:struct<S:string>>>>>';

/** The raw Glue table of `view`'s export. */
export const rawTableOf = (view: AnalyticsView) => `${view.table.toLowerCase()}_export`;

/** The raw table's one column: the item, as DynamoDB JSON types it, with the attributes the view reads. */
export function rawItemType(view: AnalyticsView): string {
  const fields = new Map<string, string>();
  for (const column of view.columns)
    if (column.derived === 'liveAt') fields.set('statusHistory', HISTORY_TYPE);
    else fields.set(column.attribute ?? column.name, TYPED_VALUE[column.type]);
  if (view.rowsWhere) fields.set(view.rowsWhere.attribute, TYPED_VALUE.varchar);
  return `struct<${[...fields].map(([name, type]) => `${name}:${type}`).join(',')}>`;
}

const field = (name: string) => `item."${name.toLowerCase()}"`;

/** Trino's expression of one column over the raw table. */
function athenaColumn(column: ViewColumn): string {
  if (column.derived === 'liveAt')
    return (
      `CAST(array_min(transform(filter(${field('statusHistory')}."l", (e) -> e."m"."status"."s" IN ('PUBLISHING', 'PLAYING')), ` +
      `(e) -> from_iso8601_timestamp(e."m"."at"."s"))) AS timestamp(3))`
    );
  const attribute = field(column.attribute ?? column.name);
  switch (column.type) {
    case 'timestamp':
      return `CAST(from_iso8601_timestamp(${attribute}."s") AS timestamp(3))`;
    case 'bigint':
    case 'double':
      return `CAST(${attribute}."n" AS ${column.type})`;
    case 'boolean':
      return `${attribute}."bool"`;
    default:
      return `${attribute}."s"`;
  }
}

/** The Athena (Trino) text of `view` over its raw table. */
export function athenaViewSql(view: AnalyticsView): string {
  const columns = view.columns.map((c) => `${athenaColumn(c)} AS "${c.name.toLowerCase()}"`).join(', ');
  const where = view.rowsWhere
    ? ` WHERE starts_with(${field(view.rowsWhere.attribute)}."s", '${view.rowsWhere.prefix}')`
    : '';
  return `SELECT ${columns} FROM "${rawTableOf(view)}"${where}`;
}

/** The view's columns as Glue stores them (`StorageDescriptor.Columns`). */
export const glueColumnsOf = (view: AnalyticsView) =>
  view.columns.map((c) => ({ name: c.name.toLowerCase(), type: GLUE_TYPES[c.type] }));

/** The view's columns as Athena's view definition lists them. */
export const viewColumnsOf = (view: AnalyticsView) =>
  view.columns.map((c) => ({ name: c.name.toLowerCase(), type: VIEW_TYPES[c.type] }));
