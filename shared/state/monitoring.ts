/**
 * The `monitoring` table: what is known of each WCS node (learnt from its hooks, kept up to date by
 * the node poller) and the threshold alarms being watched on streams. The one module that reads and
 * writes it.
 *
 * A node item (`group` = `node`, `id` = the nodeId `<id>@<ip>`) carries OAM's node status (reference
 * §5.2 `node_status/list`: connected, connect time and counter, rate), when it was last heard from
 * by a hook (and by a signed one: what lets hooks vouch for it, `sender/wcs-nodes.ts`), its state as
 * the poller last found it and why, its reconciliations (the last one and running totals), and the
 * OAM profiles assigned to it. Times are epoch milliseconds, as OAM gives them.
 */
import { isIP } from 'node:net';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { setting } from '../kernel/config.ts';
import { dynamo, isConditionFailure, queryAll, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { UpdateExpression } from '../store/update-expression.ts';

const tableName = () => tableNameOf('monitoring');

/**
 * A node's state as the poller last found it (`docs/reconciliation.md`):
 * - `up`: it answered usably (and was reconciled, or will be within the run interval);
 * - `unusable`: it answered, but nothing usable (5xx, credentials refused, garbage, an entry that is
 *   not a stream or a connection, a 404 from what is not confirmed as a WCS REST API, too large);
 * - `unreachable`: no answer at all, while it still sends hooks: alive, not reconciled;
 * - `silent`: neither an answer nor a hook for `NODE_LOST_AFTER_S`, yet not lost because too many
 *   nodes went silent at once (the loss brake);
 * - `lost`: neither for `NODE_LOST_AFTER_S`: what it held was ended;
 * - `not-asked`: the poller may not ask it (not registered, not vouched for: `NODE_DISCOVERY`).
 */
export type NodeState = 'up' | 'unusable' | 'unreachable' | 'silent' | 'lost' | 'not-asked';

/** What a reconciliation (or a loss) changed, as `lastReconcile` and the running totals count it. */
export interface ReconcileCounts {
  readonly sessionsEnded: number;
  readonly streamsEnded: number;
  readonly sessionsFound: number;
  readonly streamsFound: number;
}

/** The running totals of a node's reconciliations and losses, each a number on its item. */
const TOTALS: Readonly<Record<keyof ReconcileCounts, string>> = {
  sessionsEnded: 'sessionsEndedTotal',
  streamsEnded: 'streamsEndedTotal',
  sessionsFound: 'sessionsFoundTotal',
  streamsFound: 'streamsFoundTotal',
};

export interface NodeStatus {
  readonly nodeId: string;
  /** The node's IP, the part of the nodeId after `@`. */
  readonly host: string;
  readonly firstHookAt?: number;
  readonly lastHookAt?: number;
  /** When a hook from it last passed signature verification: it may then vouch for the node. */
  readonly signedHookAt?: number;
  /** It answered the poller's last request usably. */
  readonly connected?: boolean;
  /** When it last went from not answering to answering (OAM's `connectTimestamp`). */
  readonly connectTimestamp?: number;
  /** How many times it did (OAM's `connectCounter`). */
  readonly connectCounter?: number;
  readonly firstContactAt?: number;
  readonly lastContactAt?: number;
  /** Requests it answered. */
  readonly contactCounter?: number;
  /** Metric samples per minute read from it over its last poll (OAM's `rate`). */
  readonly rate?: number;
  /** Its state, since when, and why (`NodeState`). */
  readonly state?: NodeState;
  readonly stateSince?: number;
  readonly stateReason?: string;
  /** Since when it has not answered usably, and why. */
  readonly downSince?: number;
  readonly downReason?: string;
  /** OAM profile ids assigned with `node/update`; none: every profile applies. */
  readonly profiles?: readonly number[];
  /** Since when it has not answered at all (no connection, a timeout). */
  readonly unreachableSince?: number;
  /** When it was found lost and what it held was ended. */
  readonly lostAt?: number;
  /** When it was last reconciled, what that changed, and the REST URL that answered as WCS then. */
  readonly lastReconciledAt?: number;
  readonly lastReconcile?: Readonly<Record<string, number>>;
  readonly restConfirmedAt?: number;
  readonly restConfirmedUrl?: string;
  /** Running totals of what reconciliations and losses ended and found on it. */
  readonly sessionsEndedTotal?: number;
  readonly streamsEndedTotal?: number;
  readonly sessionsFoundTotal?: number;
  readonly streamsFoundTotal?: number;
}

/** A nodeId as WCS makes them, `<id>@<literal IP>` (reference §3.5), short enough to be a key. */
export function isNodeId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 200) return false;
  const at = value.lastIndexOf('@');
  return at > 0 && isIP(value.slice(at + 1)) !== 0;
}

/** The IP part of `nodeId` (`<id>@<ip>`), or the whole id when it has no `@`. */
export const hostOf = (nodeId: string) => nodeId.slice(nodeId.lastIndexOf('@') + 1);

/**
 * How often one process writes that a node was heard from. A node sends hooks all the time; noting
 * each would double every hook's writes. Once a minute per node and function instance is enough to
 * learn a node and to know it is alive: `lastHookAt` is exact to a minute, a third of the time
 * without hooks that makes a node lost (`NODE_LOST_AFTER_S`, 180 s), or a third of that time when
 * it is shorter.
 */
const NOTE_EVERY_MS = Math.min(60_000, (setting('NODE_LOST_AFTER_S') * 1000) / 3);
const noted = new Map<string, { at: number; signed: boolean }>();
/** How long a node only unsigned hooks named is kept after its last hook (unless it answers the poller). */
const UNSIGNED_NODE_DAYS = 1;

/**
 * Notes that `nodeId` sent a hook at `at`, `signed` when its signature was verified: the node is
 * learnt if new. At most one write per node per `NOTE_EVERY_MS` in this process (sooner when the
 * first signed hook follows unsigned ones); a failure is the caller's to log (it never fails the hook).
 * Nothing to write (the usual case): `undefined` at once, so that the hook's path sets no budget
 * timer for it.
 */
export function noteNodeHook(nodeId: string, at: Date, signed = false): Promise<void> | undefined {
  const last = noted.get(nodeId);
  if (last !== undefined && at.getTime() - last.at < NOTE_EVERY_MS && (last.signed || !signed))
    return undefined;
  noted.set(nodeId, { at: at.getTime(), signed });
  return writeNodeHook(nodeId, at, signed);
}

async function writeNodeHook(nodeId: string, at: Date, signed: boolean): Promise<void> {
  if (noted.size > 10_000) noted.clear();
  const update = new UpdateExpression()
    .set('nodeId', nodeId)
    .set('host', hostOf(nodeId))
    .setIfMissing('firstHookAt', at.getTime())
    .set('lastHookAt', at.getTime())
    // What only unsigned hooks name is kept a day past its last hook (a forged flood goes away);
    // a node that answers the poller, or signs its hooks, is kept for the retention period.
    .set(
      'expiresAt',
      signed ? expiresAtFor(at) : Math.floor(at.getTime() / 1000) + UNSIGNED_NODE_DAYS * 86_400,
    );
  if (signed) update.set('signedHookAt', at.getTime());
  try {
    await dynamo.send(
      new UpdateCommand({ TableName: tableName(), Key: { group: 'node', id: nodeId }, ...update.toParams() }),
    );
  } catch (error) {
    noted.delete(nodeId);
    throw error;
  }
}

function toNode(item: Record<string, unknown>): NodeStatus {
  const { group: _g, id: _i, expiresAt: _e, ...node } = item;
  return node as unknown as NodeStatus;
}

/** Every node known, by nodeId: one Query. */
export async function listNodes(): Promise<NodeStatus[]> {
  const items = await queryAll({
    TableName: tableName(),
    KeyConditionExpression: '#g = :node',
    ExpressionAttributeNames: { '#g': 'group' },
    ExpressionAttributeValues: { ':node': 'node' },
  });
  return items.map(toNode);
}

/** The node `nodeId`, or `undefined`. */
export async function getNode(nodeId: string): Promise<NodeStatus | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName(), Key: { group: 'node', id: nodeId }, ConsistentRead: true }),
  );
  return Item ? toNode(Item) : undefined;
}

/** Assigns OAM profiles to a known node (`node/update`); false when the node is not known. */
export async function setNodeProfiles(nodeId: string, profiles: readonly number[]): Promise<boolean> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { group: 'node', id: nodeId },
        UpdateExpression: 'SET profiles = :p',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':p': [...profiles] },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Forgets a node (`node/delete`): monitoring stops until its next hook makes it known again. */
export async function deleteNode(nodeId: string): Promise<boolean> {
  try {
    await dynamo.send(
      new DeleteCommand({
        TableName: tableName(),
        Key: { group: 'node', id: nodeId },
        ConditionExpression: 'attribute_exists(id)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * What one poll of a node found: it answered usably (with how many samples a minute), or its state
 * otherwise and why (`unusable`: it answered; `unreachable`/`silent`: no answer; `not-asked`).
 */
export type Contact =
  | { readonly state: 'up'; readonly at: number; readonly contacts: number; readonly rate: number }
  | {
      readonly state: Exclude<NodeState, 'up' | 'lost'>;
      readonly at: number;
      readonly reason: string;
    };

/**
 * Records the outcome of polling `node` (as read before the poll): a node that answers usably is
 * connected (a new connection counted when it was not), one that does not is down since the first
 * failure, with its state and the latest reason. `contacts` adds the requests answered since the
 * last write. Never clears `lostAt` but on an answer: a lost node stays lost until it answers.
 */
export async function recordContact(node: NodeStatus, contact: Contact): Promise<void> {
  const update = new UpdateExpression()
    .set('nodeId', node.nodeId)
    .set('host', node.host)
    .set('state', contact.state)
    .set('expiresAt', expiresAtFor(new Date(contact.at)));
  if (node.state !== contact.state) update.set('stateSince', contact.at);
  if (contact.state === 'up') {
    update
      .set('connected', true)
      .set('lastContactAt', contact.at)
      .set('rate', contact.rate)
      .setIfMissing('firstContactAt', contact.at)
      .increment('contactCounter', contact.contacts)
      .remove('stateReason')
      .remove('downSince')
      .remove('downReason')
      .remove('unreachableSince')
      .remove('lostAt');
    if (!node.connected) update.set('connectTimestamp', contact.at).increment('connectCounter', 1);
  } else {
    update
      .set('connected', false)
      .set('stateReason', contact.reason.slice(0, 500))
      .set('downReason', contact.reason.slice(0, 500))
      .setIfMissing('downSince', contact.at);
    if (contact.state === 'unreachable' || contact.state === 'silent')
      update.setIfMissing('unreachableSince', contact.at);
    else update.remove('unreachableSince');
    if (contact.state === 'unusable') update.set('lastContactAt', contact.at).remove('lostAt');
  }
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { group: 'node', id: node.nodeId },
      ...update.toParams(),
    }),
  );
}

/** Adds `counts` to the running totals of `update`. */
function addTotals(update: UpdateExpression, counts: ReconcileCounts): UpdateExpression {
  for (const [key, attribute] of Object.entries(TOTALS) as [keyof ReconcileCounts, string][])
    if (counts[key] > 0) update.increment(attribute, counts[key]);
  return update;
}

/**
 * Records that `nodeId` was reconciled at `at`, what that changed (added to its running totals),
 * and the REST URL that answered as a WCS REST API (what makes its later 404s mean "none").
 */
export async function recordReconciliation(
  nodeId: string,
  at: number,
  counts: ReconcileCounts,
  confirmedUrl?: string,
): Promise<void> {
  const update = addTotals(
    new UpdateExpression().set('lastReconciledAt', at).set('lastReconcile', { ...counts }),
    counts,
  );
  if (confirmedUrl !== undefined) update.set('restConfirmedAt', at).set('restConfirmedUrl', confirmedUrl);
  await dynamo
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { group: 'node', id: nodeId },
        ...update.toParams('attribute_exists(id)'),
      }),
    )
    .catch((error: unknown) => {
      // A node deleted meanwhile (node/delete): nothing to note.
      if (!isConditionFailure(error)) throw error;
    });
}

/** Marks `nodeId` lost at `at` (pushed as a `NODE_LOST` alarm), with what was ended (added to its totals). */
export async function markNodeLost(nodeId: string, at: number, counts: ReconcileCounts): Promise<void> {
  const update = addTotals(
    new UpdateExpression()
      .set('lostAt', at)
      .set('state', 'lost')
      .set('stateSince', at)
      .set('lastReconcile', { ...counts }),
    counts,
  );
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { group: 'node', id: nodeId },
      ...update.toParams(),
    }),
  );
}

/**
 * A threshold alarm watched on one stream: since when its metric has been past the threshold, and
 * whether the alarm is raised (it stayed past it for the alarm's `time`). The item exists only
 * while the metric is past the threshold; removing a raised one clears the alarm.
 */
export interface AlarmState {
  readonly alarmId: number;
  /** The alarm's definition when the watch began: its name, metric (`enumName`), threshold and direction. */
  readonly alarmName: string;
  readonly metric: string;
  readonly threshold: number;
  readonly above: boolean;
  readonly nodeId: string;
  readonly mediaId: string;
  /** The stream's name, when the node reported it. */
  readonly name?: string;
  readonly breachSince: number;
  readonly raised: boolean;
  readonly raisedAt?: number;
  /** The last value seen past the threshold. */
  readonly value: number;
}

const alarmKey = (s: Pick<AlarmState, 'alarmId' | 'nodeId' | 'mediaId'>) => ({
  group: 'alarm',
  id: `${s.alarmId}#${s.nodeId}#${s.mediaId}`,
});

/** Every alarm being watched (breached, raised or not yet): one Query. */
export async function listAlarmStates(): Promise<AlarmState[]> {
  const items = await queryAll({
    TableName: tableName(),
    KeyConditionExpression: '#g = :alarm',
    ExpressionAttributeNames: { '#g': 'group' },
    ExpressionAttributeValues: { ':alarm': 'alarm' },
  });
  return items.map((item) => {
    const { group: _g, id: _i, expiresAt: _e, ...state } = item;
    return state as unknown as AlarmState;
  });
}

/** Stores `state` (a breach begun, or an alarm raised). */
export async function putAlarmState(state: AlarmState): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...alarmKey(state), ...state, expiresAt: expiresAtFor(new Date(state.breachSince)) },
    }),
  );
}

/** Ends a watch: the metric is back within the threshold, or the stream is gone (a raised alarm clears). */
export async function deleteAlarmState(state: AlarmState): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: tableName(), Key: alarmKey(state) }));
}
