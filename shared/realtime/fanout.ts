/**
 * Pushes each change of the state tables to the subscribers of the matching destinations, as it
 * happens. Driven by DynamoDB Streams (in AWS the stream consumer function; locally the tailer of
 * DynamoDB Local's streams). Subscribers are found by destination through an index, never a Scan;
 * a connection the transport reports gone is removed, that connection and no other.
 */
import { randomUUID } from 'node:crypto';
import { setting } from '../kernel/config.ts';
import { sampleView } from '../state/metrics.ts';
import type { STREAMED_TABLES } from '../store/tables.ts';
import { removeConnection, subscribersOf, subscriptionKeyOf } from './connections.ts';
import { encodeFrame } from './stomp/codec.ts';
import { nodeView, streamFields, thresholdAlarmView } from './views.ts';

/**
 * Refusals in one minute of one app that raise a `/alarm` (`REFUSAL_ALARM_PER_MINUTE`, default 20).
 * Raised once per app and minute: when the count crosses it, not at every refusal past it.
 */
const refusalAlarmPerMinute = setting('REFUSAL_ALARM_PER_MINUTE');

/** One changed item, as a DynamoDB stream record carries it (images unmarshalled). */
export interface TableChange {
  readonly table: (typeof STREAMED_TABLES)[number];
  readonly newImage?: Record<string, unknown>;
  readonly oldImage?: Record<string, unknown>;
}

export interface Delivery {
  readonly destination: string;
  readonly body: unknown;
}

/** The same message on `/alarm` and on its alias `/alarms`. */
const alarmDeliveries = (body: unknown): Delivery[] => [
  { destination: '/alarm', body },
  { destination: '/alarms', body },
];

/**
 * The messages a change makes: a status change of a stream or a session; a node's status; a metric
 * sample (OAM's `/stream/{nodeId}/{mediaId}`: a JSON array of samples); alarms on failures, on
 * refusals and on thresholds.
 */
export function deliveriesFor(change: TableChange): Delivery[] {
  if (change.table === 'counters') return refusalAlarms(change);
  if (change.table === 'metrics') {
    const sample = change.newImage;
    if (!sample || change.oldImage) return [];
    return [
      {
        destination: `/stream/${String(sample.nodeId)}/${String(sample.mediaId)}`,
        body: [sampleView(sample)],
      },
    ];
  }
  if (change.table === 'monitoring') return monitoringDeliveries(change);
  const item = change.newImage;
  if (!item || item.status === change.oldImage?.status || item.status === undefined) return [];
  if (change.table === 'sessions') {
    return [
      {
        destination: '/topic/sessions',
        body: {
          type: 'session',
          sessionId: item.sessionId,
          app: item.appKey,
          node: item.nodeId,
          user: item.userId,
          status: item.status,
          info: item.info,
          at: item.lastStatusAt,
        },
      },
    ];
  }
  const stream = {
    type: 'stream',
    ...streamFields(item),
    status: item.status,
    info: item.info,
    at: item.lastStatusAt,
  };
  const deliveries: Delivery[] = [
    { destination: '/topic/streams', body: stream },
    { destination: `/topic/streams/${String(item.name)}`, body: stream },
  ];
  if (item.status === 'FAILED') {
    deliveries.push(
      ...alarmDeliveries({
        ...stream,
        type: 'alarm',
        alarm: item.published ? 'PUBLISHER_LOST' : 'STREAM_FAILED',
      }),
    );
  }
  return deliveries;
}

/** A node's status when it goes up or down (or is first polled), and `NODE_LOST`; a threshold alarm raised or cleared. */
function monitoringDeliveries({ newImage, oldImage }: TableChange): Delivery[] {
  const group = newImage?.group ?? oldImage?.group;
  if (group === 'node') {
    if (!newImage) return [];
    const lost = newImage.lostAt !== undefined && newImage.lostAt !== oldImage?.lostAt;
    // A node's state, or why it is in it, changed; or it was reconciled (once a run): operators see it.
    const changed =
      (newImage.connected !== undefined && newImage.connected !== oldImage?.connected) ||
      newImage.state !== oldImage?.state ||
      newImage.stateReason !== oldImage?.stateReason ||
      newImage.lastReconciledAt !== oldImage?.lastReconciledAt;
    // Alive but not reconcilable, or held back from a loss by the brake: worth an operator's look.
    const troubled =
      (newImage.state === 'unreachable' || newImage.state === 'silent') && newImage.state !== oldImage?.state;
    return [
      ...(changed || lost ? [{ destination: '/topic/nodes', body: nodeView(newImage) }] : []),
      ...(troubled
        ? alarmDeliveries({
            type: 'alarm',
            alarm: newImage.state === 'unreachable' ? 'NODE_UNREACHABLE' : 'NODE_LOSS_BRAKED',
            node: newImage.nodeId,
            host: newImage.host,
            reason: newImage.stateReason,
            timestamp: newImage.stateSince,
          })
        : []),
      ...(lost
        ? alarmDeliveries({
            type: 'alarm',
            alarm: 'NODE_LOST',
            node: newImage.nodeId,
            host: newImage.host,
            unreachableSince: newImage.unreachableSince,
            reason: newImage.downReason,
            ended: newImage.lastReconcile,
            timestamp: newImage.lostAt,
          })
        : []),
    ];
  }
  if (group !== 'alarm') return [];
  if (newImage?.raised === true && oldImage?.raised !== true)
    return alarmDeliveries(thresholdAlarmView(newImage, 'RAISED'));
  if (!newImage && oldImage?.raised === true) return alarmDeliveries(thresholdAlarmView(oldImage, 'CLEARED'));
  return [];
}

/** An alarm when a refusal counter (`shared/state/counters.ts`) crosses the threshold with this change. */
function refusalAlarms(change: TableChange): Delivery[] {
  const item = change.newImage;
  // The table also counts reconciliations per node (`reconciled-hour`, `reconciled-day`): no alarm.
  if (!String(item?.counter ?? '').startsWith('refused#')) return [];
  const count = Number(item?.count ?? 0);
  const before = Number(change.oldImage?.count ?? 0);
  if (!item || before >= refusalAlarmPerMinute || count < refusalAlarmPerMinute) return [];
  return alarmDeliveries({
    type: 'alarm',
    alarm: 'REFUSALS_ABOVE_THRESHOLD',
    app: item.appKey,
    minute: item.window,
    count,
    threshold: refusalAlarmPerMinute,
    lastMethod: item.lastMethod,
    lastReason: item.lastReason,
    at: new Date().toISOString(),
  });
}

/** Sends `text` on connection `connectionId`; answers `gone` when the connection no longer exists. */
export type Push = (connectionId: string, text: string) => Promise<'sent' | 'gone'>;

/** What a fan-out did; `failedAt` is the first change it could not deliver (the rest were not tried). */
export interface FanOutResult {
  readonly delivered: number;
  readonly gone: number;
  readonly failedAt?: number;
  readonly error?: unknown;
}

/**
 * Delivers the messages of `changes`, in order, to every subscriber; removes connections the
 * transport says are gone. A change that cannot be delivered (the subscribers cannot be read, a
 * push fails other than Gone) stops the fan-out there: `failedAt` says which, so that the caller
 * reports it and the ones after it for a retry (a DynamoDB stream's partial batch failure), and
 * nothing is dropped. A retried change may reach a subscriber twice; it is never lost.
 */
export async function fanOut(changes: readonly TableChange[], push: Push): Promise<FanOutResult> {
  let delivered = 0;
  const gone = new Set<string>();
  // One Query per destination per batch, however many changes of the batch go there.
  const subscribers = new Map<string, ReturnType<typeof subscribersOf>>();
  const subscribersOnce = (destination: string) => {
    let found = subscribers.get(destination);
    if (!found) {
      found = subscribersOf(destination);
      subscribers.set(destination, found);
    }
    return found;
  };
  for (const [index, change] of changes.entries()) {
    try {
      for (const { destination, body } of deliveriesFor(change)) {
        // A subscription by a node's IP gets its samples too: both are found under one key. The
        // message names the destination it was sent to, as a broker does for a wildcard subscription.
        for (const { connectionId, subscriptionId } of await subscribersOnce(
          subscriptionKeyOf(destination),
        )) {
          if (gone.has(connectionId)) continue;
          const frame = encodeFrame(
            'MESSAGE',
            {
              destination,
              subscription: subscriptionId,
              'message-id': randomUUID(),
              'content-type': 'application/json;charset=UTF-8',
            },
            JSON.stringify(body),
          );
          if ((await push(connectionId, frame)) === 'gone') {
            gone.add(connectionId);
            await removeConnection(connectionId);
          } else delivered++;
        }
      }
    } catch (error) {
      return { delivered, gone: gone.size, failedAt: index, error };
    }
  }
  return { delivered, gone: gone.size };
}
