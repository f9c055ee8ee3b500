/**
 * Pushes each change of the state tables to the subscribers of the matching destinations, as it
 * happens. Driven by DynamoDB Streams (in AWS the stream consumer function; locally the tailer of
 * DynamoDB Local's streams). Subscribers are found by destination through an index, never a Scan;
 * a connection the transport reports gone is removed, that connection and no other.
 */
import { randomUUID } from 'node:crypto';
import { mapWithConcurrency } from '../kernel/concurrency.ts';
import { setting } from '../kernel/config.ts';
import { isRefusalCounter } from '../state/counters.ts';
import { sampleView } from '../state/metrics.ts';
import type { STREAMED_TABLES } from '../store/tables.ts';
import { removeConnection, subscribersOf, subscriptionKeyOf } from './connections.ts';
import { encodeFrame, MAX_FRAME_BYTES } from './stomp/codec.ts';
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
  if (!isRefusalCounter(item)) return [];
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
 * Subscribers pushed to at once (`FANOUT_CONCURRENCY`): each gets the batch's messages one after
 * another, in order; different subscribers in parallel, so that a slow or gone one holds up only
 * itself, and a batch reaches 100 subscribers in the time of the messages of one, not of 100.
 * Each subscriber's frames of a batch go in as few posts as they fit in (`coalesced`).
 */
const fanOutConcurrency = setting('FANOUT_CONCURRENCY');

/** One message for one subscriber, and the change (its index in the batch) it comes from. */
interface Pending {
  readonly change: number;
  readonly frame: string;
}

/**
 * A subscriber's frames, in order, joined into as few WebSocket messages as fit in one (128 KiB, what
 * API Gateway carries): a STOMP client reads the frames of a message one after another (each ends
 * with its NUL), so a batch of changes costs a subscriber one post, not one per change. `change` is
 * the first change a message carries.
 */
function coalesced(pending: readonly Pending[]): { change: number; text: string; frames: number }[] {
  const messages: { change: number; text: string; frames: number; bytes: number }[] = [];
  for (const { change, frame } of pending) {
    const bytes = Buffer.byteLength(frame);
    const last = messages.at(-1);
    if (last && last.bytes + bytes <= MAX_FRAME_BYTES) {
      last.text += frame;
      last.bytes += bytes;
      last.frames++;
    } else messages.push({ change, text: frame, frames: 1, bytes });
  }
  return messages;
}

/**
 * Delivers the messages of `changes` to every subscriber, each subscriber's in the order of the
 * changes; removes connections the transport says are gone. The subscribers of a destination are
 * read once per batch, however many of its changes go there. A change that cannot be delivered (its
 * subscribers cannot be read, a push fails other than Gone) is reported: `failedAt` is the first
 * such change, so that the caller reports it and the ones after it for a retry (a DynamoDB stream's
 * partial batch failure), and nothing is dropped. A subscriber whose push failed gets nothing more of
 * the batch; the others go on, so a retried change may reach a subscriber twice. It is never lost.
 */
export async function fanOut(
  changes: readonly TableChange[],
  push: Push,
  concurrency = fanOutConcurrency,
): Promise<FanOutResult> {
  let failure: { at: number; error: unknown } | undefined;
  const fail = (at: number, error: unknown) => {
    if (!failure || at < failure.at) failure = { at, error };
  };
  // Each subscriber's messages, in the order of the changes.
  const lanes = new Map<string, Pending[]>();
  const subscribers = new Map<string, Awaited<ReturnType<typeof subscribersOf>>>();
  for (const [index, change] of changes.entries()) {
    try {
      for (const { destination, body } of deliveriesFor(change)) {
        // A subscription by a node's IP gets its samples too: both are found under one key. The
        // message names the destination it was sent to, as a broker does for a wildcard subscription.
        const key = subscriptionKeyOf(destination);
        let found = subscribers.get(key);
        if (!found) {
          found = await subscribersOf(key);
          subscribers.set(key, found);
        }
        const json = JSON.stringify(body);
        for (const { connectionId, subscriptionId } of found) {
          const frame = encodeFrame(
            'MESSAGE',
            {
              destination,
              subscription: subscriptionId,
              'message-id': randomUUID(),
              'content-type': 'application/json;charset=UTF-8',
            },
            json,
          );
          const lane = lanes.get(connectionId) ?? [];
          lane.push({ change: index, frame });
          lanes.set(connectionId, lane);
        }
      }
    } catch (error) {
      // What this change and the ones after it would have sent is left for the retry.
      fail(index, error);
      break;
    }
  }
  let delivered = 0;
  let gone = 0;
  await mapWithConcurrency([...lanes], concurrency, async ([connectionId, pending]) => {
    for (const message of coalesced(pending)) {
      if (failure && message.change >= failure.at) return;
      try {
        if ((await push(connectionId, message.text)) === 'gone') {
          gone++;
          await removeConnection(connectionId);
          return;
        }
        delivered += message.frames;
      } catch (error) {
        fail(message.change, error);
        return;
      }
    }
  });
  return failure ? { delivered, gone, failedAt: failure.at, error: failure.error } : { delivered, gone };
}
