/**
 * The `monitoring` table: what is known of each WCS node (learnt from its hooks, kept up to date by
 * the node poller) and the threshold alarms being watched on streams. The one module that reads and
 * writes it.
 *
 * A node item (`group` = `node`, `id` = the nodeId `<id>@<ip>`) carries OAM's node status (reference
 * §5.2 `node_status/list`: connected, connect time and counter, rate), when it was last heard from
 * by a hook, when it last answered the poller or why it did not, and the OAM profiles assigned to it.
 * Times are epoch milliseconds, as OAM gives them.
 */
import { isIP } from 'node:net';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure, queryAll, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { UpdateExpression } from '../store/update-expression.ts';

const tableName = () => tableNameOf('monitoring');

export interface NodeStatus {
  readonly nodeId: string;
  /** The node's IP, the part of the nodeId after `@`. */
  readonly host: string;
  readonly firstHookAt?: number;
  readonly lastHookAt?: number;
  /** It answered the poller's last request. */
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
  /** Since when it has not answered, and why. */
  readonly downSince?: number;
  readonly downReason?: string;
  /** OAM profile ids assigned with `node/update`; none: every profile applies. */
  readonly profiles?: readonly number[];
  /** Since when it has not answered at all (no connection, a timeout): what makes a node lost. */
  readonly unreachableSince?: number;
  /** When it was found lost (`NODE_LOST_AFTER_S` unreachable) and what it held was ended. */
  readonly lostAt?: number;
  /** When it was last reconciled, and what that changed. */
  readonly lastReconciledAt?: number;
  readonly lastReconcile?: Readonly<Record<string, number>>;
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
 * learn a node and to know it is alive (`lastHookAt` is exact to a minute).
 */
const NOTE_EVERY_MS = 60_000;
const noted = new Map<string, number>();

/**
 * Notes that `nodeId` sent a hook at `at`: the node is learnt if new. At most one write per node per
 * minute in this process; a failure is the caller's to log (it never fails the hook).
 */
export async function noteNodeHook(nodeId: string, at: Date): Promise<void> {
  const last = noted.get(nodeId);
  if (last !== undefined && at.getTime() - last < NOTE_EVERY_MS) return;
  noted.set(nodeId, at.getTime());
  if (noted.size > 10_000) noted.clear();
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { group: 'node', id: nodeId },
        UpdateExpression:
          'SET nodeId = :id, host = :host, firstHookAt = if_not_exists(firstHookAt, :at), lastHookAt = :at, expiresAt = :exp',
        ExpressionAttributeValues: {
          ':id': nodeId,
          ':host': hostOf(nodeId),
          ':at': at.getTime(),
          ':exp': expiresAtFor(at),
        },
      }),
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

/** What one poll of a node found: it answered (with how many samples a minute), or why it did not. */
export type Contact =
  | { readonly answered: true; readonly at: number; readonly contacts: number; readonly rate: number }
  | { readonly answered: false; readonly at: number; readonly reason: string; readonly unreachable: boolean };

/**
 * Records the outcome of polling `node` (as read before the poll): a node that answers is
 * connected (a new connection counted when it was not), one that does not is down since the first
 * failure, with the latest reason. `contacts` adds the requests answered since the last write.
 */
export async function recordContact(node: NodeStatus, contact: Contact): Promise<void> {
  const update = new UpdateExpression()
    .set('nodeId', node.nodeId)
    .set('host', node.host)
    .set('expiresAt', expiresAtFor(new Date(contact.at)));
  if (contact.answered) {
    update
      .set('connected', true)
      .set('lastContactAt', contact.at)
      .set('rate', contact.rate)
      .setIfMissing('firstContactAt', contact.at)
      .increment('contactCounter', contact.contacts)
      .remove('downSince')
      .remove('downReason')
      .remove('unreachableSince')
      .remove('lostAt');
    if (!node.connected) update.set('connectTimestamp', contact.at).increment('connectCounter', 1);
  } else {
    update
      .set('connected', false)
      .set('downReason', contact.reason.slice(0, 500))
      .setIfMissing('downSince', contact.at);
    if (contact.unreachable) update.setIfMissing('unreachableSince', contact.at);
    else update.remove('unreachableSince');
  }
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { group: 'node', id: node.nodeId },
      ...update.toParams(),
    }),
  );
}

/** Records that `nodeId` was reconciled at `at`, and what that changed. */
export async function recordReconciliation(
  nodeId: string,
  at: number,
  summary: Readonly<Record<string, number>>,
): Promise<void> {
  await dynamo
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { group: 'node', id: nodeId },
        UpdateExpression: 'SET lastReconciledAt = :at, lastReconcile = :s',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':at': at, ':s': summary },
      }),
    )
    .catch((error: unknown) => {
      // A node deleted meanwhile (node/delete): nothing to note.
      if (!isConditionFailure(error)) throw error;
    });
}

/** Marks `nodeId` lost at `at` (pushed as a `NODE_LOST` alarm), with what was ended. */
export async function markNodeLost(
  nodeId: string,
  at: number,
  summary: Readonly<Record<string, number>>,
): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { group: 'node', id: nodeId },
      UpdateExpression: 'SET lostAt = :at, lastReconcile = :s',
      ExpressionAttributeValues: { ':at': at, ':s': summary },
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
