/**
 * The DynamoDB tables, defined once. The local runtime creates them from these definitions
 * (`toCreateTableInput`) and the CDK stack builds them from the same objects, so the keys and
 * indexes an analyst queries are the same in both. `docs/data-model.md` explains each access pattern.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { TableName } from '../kernel/registry.ts';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
  /** What the value is, when the name does not say (shown in `docs/data-model.md`). */
  readonly about?: string;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** `KEYS_ONLY`, or the non-key attributes to include. Small projections keep index writes cheap. */
  readonly projection: 'KEYS_ONLY' | 'ALL' | readonly string[];
  /** Which items the index holds (a sparse index holds only those with its key attributes). */
  readonly holds: string;
}

export interface TableDefinition {
  readonly name: TableName;
  /** The environment variable that carries the physical table name to a function. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes: readonly IndexDefinition[];
  readonly localIndexes: readonly IndexDefinition[];
  /** Epoch seconds after which DynamoDB may delete the item (retention). */
  readonly timeToLiveAttribute: string;
}

const S = (name: string, about?: string): KeyAttribute => ({ name, type: 'S', ...(about && { about }) });
const N = (name: string, about?: string): KeyAttribute => ({ name, type: 'N', ...(about && { about }) });

/** Every item carries this; DynamoDB TTL removes it once retention has passed. */
export const EXPIRY_ATTRIBUTE = 'expiresAt';

export const TABLES: Readonly<Record<TableName, TableDefinition>> = {
  /** One item per WCS session (`sessionId`), from `connect` to DISCONNECTED or FAILED. */
  sessions: {
    name: 'sessions',
    envVar: 'SESSIONS_TABLE',
    partitionKey: S('sessionId'),
    globalIndexes: [
      // Sparse: `openAppKey` exists only while the session is open, so the index holds open sessions only.
      {
        indexName: 'openByApp',
        partitionKey: S('openAppKey', 'the `appKey`, while the session is open'),
        // `<userId>#<sessionId>`: one user's open sessions are one key range.
        sortKey: S('openKey', '`<userId>#<sessionId>` (`-` for no user)'),
        projection: ['nodeId', 'userId'],
        holds: 'open sessions only',
      },
      // Sparse: `openNodeId` exists only while the session is open: what each WCS node should still
      // have, for reconciliation (`shared/monitoring/reconcile.ts`).
      {
        indexName: 'openByNode',
        partitionKey: S('openNodeId', 'the `nodeId`, while the session is open'),
        sortKey: S('sessionId'),
        projection: 'KEYS_ONLY',
        holds: 'open sessions only, by node',
      },
      // Sparse: only sessions with a token's user. One user's sessions over time are one key range,
      // closed ones included (`openByApp` holds open ones only).
      {
        indexName: 'byUser',
        partitionKey: S('userId', "the token's user; absent (not in the index) for an anonymous session"),
        sortKey: S('firstStatusAt'),
        projection: ['appKey', 'status', 'endedAt'],
        holds: 'sessions with a user, by the time of their first hook',
      },
    ],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * One item per media session: a publish or a play, with its status history. Keyed under its
   * session (every stream hook carries both ids), so a session's streams are one Query on the table
   * and no index is needed for them.
   */
  streams: {
    name: 'streams',
    envVar: 'STREAMS_TABLE',
    partitionKey: S('sessionId'),
    sortKey: S('mediaSessionId'),
    globalIndexes: [
      {
        indexName: 'byName',
        partitionKey: S('name'),
        sortKey: S('firstStatusAt'),
        projection: 'KEYS_ONLY',
        holds: 'every publish and play of a name',
      },
      // Sparse: `liveShard` exists only while PUBLISHING/PLAYING. Every app's live streams, policy or
      // not, over 16 shards (`live#00`..`live#15`, by app and name; `shared/state/streams.ts`).
      {
        indexName: 'liveStreams',
        partitionKey: S('liveShard', '`live#00` to `live#15`, by app and name, while live'),
        // `<name>#<publisher|player>#<mediaSessionId>`: one name's live players are one key range.
        sortKey: S('liveKey', '`<name>#<publisher|player>#<mediaSessionId>`'),
        projection: ['appKey', 'name', 'published', 'nodeId'],
        holds: 'live streams only (PUBLISHING, PLAYING), of every app',
      },
      // Every stream by the day it started, over 8 shards a day (`2026-11-30#3`, by mediaSessionId):
      // the history of every name, newest first (`stream/history` without a name).
      {
        indexName: 'byDay',
        partitionKey: S('historyDay', '`<YYYY-MM-DD>#<0-7>`: the UTC day it started, and a shard'),
        sortKey: S('firstStatusAt'),
        projection: 'KEYS_ONLY',
        holds: 'every publish and play, by the day it started',
      },
      // Sparse: `liveNodeId` exists only while PENDING, PUBLISHING or PLAYING: what each WCS node
      // should still have, for reconciliation (an admitted stream that never went live included).
      // Its name and key stay as they were: a deployment may change one index per table at a time.
      {
        indexName: 'liveByNode',
        partitionKey: S('liveNodeId', 'the `nodeId`, while live'),
        sortKey: S('mediaSessionId'),
        projection: 'KEYS_ONLY',
        holds: 'streams not yet ended (PENDING, PUBLISHING, PLAYING), by node',
      },
      // Sparse: `failedAppKey` exists only on streams that ended FAILED.
      {
        indexName: 'failedByApp',
        partitionKey: S('failedAppKey', 'the `appKey`, once the stream ended FAILED'),
        sortKey: S('endedAt'),
        projection: ['name', 'info'],
        holds: 'failed streams only',
      },
    ],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /** Data a client sent (`OnDataEvent`) and its delivery status (`DataStatusEvent`), per session. */
  dataMessages: {
    name: 'dataMessages',
    envVar: 'DATA_MESSAGES_TABLE',
    partitionKey: S('sessionId'),
    sortKey: S('operationId'),
    globalIndexes: [],
    localIndexes: [
      {
        indexName: 'byTime',
        partitionKey: S('sessionId'),
        sortKey: S('receivedAt'),
        projection: 'ALL',
        holds: "every item, by the time of the session's first hook about it",
      },
    ],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * The configuration store (`shared/state/config-store.ts`): app policies (`kind` = `app`) and WCS node
   * REST URLs (`kind` = `node`), each kind one partition, listed with one Query.
   */
  config: {
    name: 'config',
    envVar: 'CONFIG_TABLE',
    partitionKey: S(
      'kind',
      '`app` (a policy), `node` (a WCS node REST URL), `profile`, `rule`, `alarm` (WCS OAM), `endpoint` (a WebSocket endpoint), `denial` (a denied user or token), `sequence`',
    ),
    sortKey: S(
      'id',
      'the `appKey`, the `nodeId` or node IP, the OAM id, the endpoint code, `<user|token>#<appKey or *>#<user or jti>` for a denial, or the kind a sequence numbers',
    ),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * Stream names in use per app (`shared/state/stream-names.ts`): the publisher holding a name and the
   * count of admitted players, each changed only by conditional writes.
   */
  streamNames: {
    name: 'streamNames',
    envVar: 'STREAM_NAMES_TABLE',
    partitionKey: S('appKey'),
    sortKey: S('name'),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * The realtime API's WebSocket connections (`shared/realtime/`): per connection, its STOMP state
   * (`key` = `#state`) and one item per subscription (`key` = `sub#<id>`), found by destination
   * through `byDestination` when a change is pushed, never by a Scan.
   */
  connections: {
    name: 'connections',
    envVar: 'CONNECTIONS_TABLE',
    partitionKey: S('connectionId'),
    sortKey: S('key', '`#state` (the STOMP state) or `sub#<subscription id>`'),
    globalIndexes: [
      // Sparse: only subscription items have a `destination`.
      {
        indexName: 'byDestination',
        partitionKey: S('destination'),
        sortKey: S('connectionId'),
        projection: ['subscriptionId'],
        holds: 'subscription items only',
      },
    ],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * The user agents' WebSocket connections to endpoints (`shared/state/endpoint-connections.ts`):
   * one item per open connection, with its user, roles and the context its endpoint's logic keeps.
   * Who is on an endpoint, and a user's connections there, are one Query of `byEndpoint`.
   */
  endpointConnections: {
    name: 'endpointConnections',
    envVar: 'ENDPOINT_CONNECTIONS_TABLE',
    partitionKey: S('connectionId'),
    globalIndexes: [
      {
        indexName: 'byEndpoint',
        partitionKey: S('endpoint', 'the endpoint code'),
        sortKey: S('userKey', "`<user>#<connectionId>`: one user's connections are one key range"),
        projection: 'KEYS_ONLY',
        holds: 'every open connection, by endpoint and user',
      },
    ],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * Every message sent to endpoint users (`sendMessage`: from the operator API, the CLI or an endpoint's
   * logic) and what became of it (`shared/state/endpoint-messages.ts`), newest last per endpoint and user;
   * and the messages kept for users who are offline until they connect (`~kept#<endpoint>#<user>`).
   */
  endpointMessages: {
    name: 'endpointMessages',
    envVar: 'ENDPOINT_MESSAGES_TABLE',
    partitionKey: S(
      'recipient',
      '`<endpoint>#<user>`, or `<endpoint>#*` for a broadcast; `~kept#<endpoint>#<user>`: the messages kept for a user who is offline',
    ),
    sortKey: S('messageKey', '`<ISO time>#<messageId>`'),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * Counts per app and minute (`shared/state/counters.ts`): `counter` = `refused#<appKey>`, `window` =
   * the minute (`2026-11-22T15:37Z`), `count` added to atomically. One app's refusals over a time
   * range are one Query; the realtime API raises an alarm when a minute's count crosses a threshold.
   * And what reconciliations changed per node and hour or day: `counter` = `reconciled-hour` or
   * `reconciled-day`, `window` = `<hour or day>#<nodeId>`, so every node's last 24 hours is one Query.
   */
  counters: {
    name: 'counters',
    envVar: 'COUNTERS_TABLE',
    partitionKey: S(
      'counter',
      '`refused#<appKey>`; `refusals#<appKey>#<YYYY-MM-DD>` (one item per refusal); or `reconciled-hour`, `reconciled-day`',
    ),
    sortKey: S(
      'window',
      'the minute, `2026-11-22T15:37Z` (UTC); the refusal, `<ISO time>#<digest>`; or the hour or day and the node, `2026-11-22T15Z#<nodeId>`, `2026-11-22#<nodeId>`',
    ),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * What the node poller knows (`shared/state/nodes.ts`): one item per WCS node (`group` = `node`,
   * learnt from its hooks: status, contacts, assigned profiles) and one per threshold alarm being
   * watched on a stream (`group` = `alarm`), each group one partition, listed with one Query.
   */
  monitoring: {
    name: 'monitoring',
    envVar: 'MONITORING_TABLE',
    partitionKey: S('group', '`node`, or `alarm` (a threshold breached on a stream)'),
    sortKey: S('id', 'the `nodeId`; or `<alarm id>#<nodeId>#<mediaSessionId>`'),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * Stream metric samples the node poller read from the WCS nodes (`shared/state/metrics.ts`): one
   * item per stream and sample time, kept `METRICS_RETENTION_HOURS`. The last N samples of a stream
   * are one Query, newest first.
   */
  metrics: {
    name: 'metrics',
    envVar: 'METRICS_TABLE',
    partitionKey: S('stream', '`<nodeId>#<mediaSessionId>`'),
    sortKey: N('timestamp', 'epoch milliseconds of the sample'),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /**
   * Usage aggregates (`shared/state/usage.ts`), kept from the changes of the sessions, streams, data
   * messages and counters tables by the `usage-streams` consumer: per app and UTC day (counters
   * sharded over 16 items, per-hour items holding per-minute concurrency), per stream name and day,
   * and, per source item, what it last contributed. An app's day is one Query.
   */
  usage: {
    name: 'usage',
    envVar: 'USAGE_TABLE',
    partitionKey: S(
      'aggregateKey',
      '`app#<appKey>#<YYYY-MM-DD>`, `name#<appKey>#<name>#<YYYY-MM-DD>`, or `source#<source id>`',
    ),
    sortKey: S(
      'slot',
      '`day#<shard>`, `hour#<HH>#<shard>`, `user#<userId>`, `name#<name>#<shard>`; `minute#<HH>#<shard>`, `publish#<mediaSessionId>`; `contribution`',
    ),
    globalIndexes: [],
    localIndexes: [],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
  /** Every other hook (the catch-all) and ErrorEvent, one item per distinct call, per session. */
  events: {
    name: 'events',
    envVar: 'EVENTS_TABLE',
    partitionKey: S('sessionId', '`-` for a hook that names no session'),
    sortKey: S('eventKey', '`<method>#<first 32 hex of SHA-256 of the raw body>`'),
    globalIndexes: [],
    localIndexes: [
      {
        indexName: 'byTime',
        partitionKey: S('sessionId'),
        sortKey: S('receivedAt'),
        projection: 'ALL',
        holds: 'every item, by time',
      },
    ],
    timeToLiveAttribute: EXPIRY_ATTRIBUTE,
  },
};

/**
 * The tables whose changes are pushed. Each one's stream feeds the consumer function, which tells
 * them apart by the table name in `<ENV_VAR>_NAME` (`SESSIONS_TABLE_NAME`, ...): set by the CDK
 * stack in AWS, and by the local runtime.
 */
export const STREAMED_TABLES = [
  'sessions',
  'streams',
  'counters',
  'monitoring',
  'metrics',
] as const satisfies readonly TableName[];

/**
 * Records handed to a stream consumer at once: the deployed event sources' `batchSize`, and what the
 * local stream tailer hands over, so a local batch is no larger than a Lambda invocation's.
 */
export const STREAM_BATCH_SIZE = 100;

/** The environment variable naming `table` for the stream consumer. */
export const streamedTableEnv = (table: TableName) => `${TABLES[table].envVar}_NAME`;

/** The tables whose changes the usage consumer (`functions/usage-streams.ts`) aggregates. */
export const USAGE_SOURCE_TABLES = [
  'sessions',
  'streams',
  'dataMessages',
  'counters',
] as const satisfies readonly TableName[];

/**
 * The local runtime's stand-in for SQS (`shared/store/local-queue.ts`): one partition per queue, messages
 * in the order they were sent. Not deployed, so not among `TABLES`.
 */
export const LOCAL_QUEUE_TABLE: TableDefinition = {
  name: 'queue' as TableName,
  envVar: 'LOCAL_QUEUE_TABLE',
  partitionKey: S('queue', 'the queue name (`send`, `send-dlq`)'),
  sortKey: S('messageId', 'sortable by the time it was sent'),
  globalIndexes: [],
  localIndexes: [],
  timeToLiveAttribute: EXPIRY_ATTRIBUTE,
};

function projectionOf(index: IndexDefinition) {
  if (index.projection === 'KEYS_ONLY' || index.projection === 'ALL') {
    return { ProjectionType: index.projection };
  }
  return { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projection] };
}

function keySchemaOf(partitionKey: KeyAttribute, sortKey?: KeyAttribute) {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** Every attribute used in a key of the table or of one of its indexes, once. */
export function keyAttributesOf(table: TableDefinition): KeyAttribute[] {
  const all = [
    table.partitionKey,
    table.sortKey,
    ...[...table.globalIndexes, ...table.localIndexes].flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  const unique = new Map<string, KeyAttribute>();
  for (const attribute of all)
    if (attribute && !unique.has(attribute.name)) unique.set(attribute.name, attribute);
  return [...unique.values()];
}

/** The CreateTable request for `table` under the physical name `tableName` (on-demand, streams on). */
export function toCreateTableInput(table: TableDefinition, tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributesOf(table).map((a) => ({
      AttributeName: a.name,
      AttributeType: a.type,
    })),
    KeySchema: keySchemaOf(table.partitionKey, table.sortKey),
    ...(table.globalIndexes.length > 0 && {
      GlobalSecondaryIndexes: table.globalIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchemaOf(index.partitionKey, index.sortKey),
        Projection: projectionOf(index),
      })),
    }),
    ...(table.localIndexes.length > 0 && {
      LocalSecondaryIndexes: table.localIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchemaOf(index.partitionKey, index.sortKey),
        Projection: projectionOf(index),
      })),
    }),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
