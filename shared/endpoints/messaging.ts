/**
 * Sending text to user agents on an endpoint: to every open connection of one user
 * (`sendMessage`), optionally to that user's WCS sessions too, or to everyone on the endpoint; each
 * message recorded with its outcome (`endpointMessages`). A connection API Gateway no longer has
 * (410 Gone) is handed to `onGone`, which ends it (`lifecycle.ts`).
 */
import { randomUUID } from 'node:crypto';
import { logger } from '../kernel/logger.ts';
import { postToConnection } from '../realtime/management-api.ts';
import { mapWithConcurrency, sendNow } from '../sender/sender.ts';
import { connectionsOfUser, connectionsOnEndpoint } from '../state/endpoint-connections.ts';
import {
  type EndpointMessageRecord,
  keepEndpointMessage,
  type MessageOrigin,
  recordEndpointMessage,
} from '../state/endpoint-messages.ts';
import type { Endpoint } from '../state/endpoints.ts';

/** Posts at most this many messages at once. */
const POST_CONCURRENCY = 20;

export interface Delivery {
  /** The management API of the endpoints API (`ENDPOINTS_ENDPOINT`, or the stage the event came from). */
  readonly via: string;
  /** Ends a connection API Gateway no longer has. */
  readonly onGone: (connectionId: string) => Promise<void>;
}

/** What became of one message. */
export type MessageOutcome = Omit<EndpointMessageRecord, 'text' | 'origin'>;

async function postAll(connectionIds: readonly string[], text: string, delivery: Delivery) {
  const outcomes = await mapWithConcurrency(connectionIds, POST_CONCURRENCY, async (connectionId) => {
    try {
      const outcome = await postToConnection(connectionId, text, delivery.via);
      if (outcome === 'gone') await delivery.onGone(connectionId);
      return { outcome, connectionId };
    } catch (error) {
      logger.warn('posting to an endpoint connection failed', {
        connectionId,
        error: (error as Error).message,
      });
      return { outcome: 'failed' as const, connectionId, reason: (error as Error).message };
    }
  });
  const count = (o: string) => outcomes.filter((r) => r.outcome === o).length;
  return {
    connections: connectionIds.length,
    sent: count('sent'),
    gone: count('gone'),
    failed: count('failed'),
    reason: outcomes.find((o) => 'reason' in o)?.reason,
  };
}

/**
 * Records a message to `user` (`*`: everyone) with what became of its posts (and of its WCS sends),
 * and answers that outcome. `SENT` when any socket or WCS session took it, `FAILED` when every post
 * failed, `NOBODY` when there was no one to send it to; but `KEPT` when there was no one and the
 * endpoint keeps messages for users who are offline (`keepOffline`; not a broadcast): it is kept,
 * whole, for the user to get when it connects.
 */
async function recorded(
  endpoint: Endpoint,
  user: string,
  text: string,
  origin: MessageOrigin,
  counts: Awaited<ReturnType<typeof postAll>>,
  at: Date,
  wcs?: EndpointMessageRecord['wcs'],
): Promise<MessageOutcome> {
  const reached = counts.sent > 0 || (wcs !== undefined && wcs.sent + wcs.queued > 0);
  const keep = !reached && counts.failed === 0 && user !== '*' ? endpoint.keepOffline : undefined;
  const keptUntil = keep && new Date(at.getTime() + keep.ttlSeconds * 1000);
  const record: EndpointMessageRecord = {
    messageId: randomUUID(),
    endpoint: endpoint.code,
    user,
    text,
    origin,
    outcome: reached ? 'SENT' : counts.failed > 0 ? 'FAILED' : keptUntil ? 'KEPT' : 'NOBODY',
    ...(keptUntil && { keptUntil: keptUntil.toISOString() }),
    connections: counts.connections,
    sent: counts.sent,
    gone: counts.gone,
    failed: counts.failed,
    ...(wcs && { wcs }),
    ...(counts.reason && { reason: counts.reason }),
  };
  await recordEndpointMessage(record, at);
  if (keep && keptUntil)
    await keepEndpointMessage(record, text, at, { keptUntil, maxMessages: keep.maxMessages });
  const { text: _, origin: __, ...outcome } = record;
  return outcome;
}

/**
 * meveo's `sendMessage(endpointCode, username, text)`: `text` to every open connection of `user`
 * on `endpoint`, and with `wcs` to the user's WCS sessions of the endpoint's app too (through the
 * sender, as `{"type":"endpointMessage","endpoint","text"}`); recorded.
 */
export async function sendToUser(
  endpoint: Endpoint,
  user: string,
  text: string,
  options: Delivery & { readonly origin: MessageOrigin; readonly wcs?: boolean },
): Promise<MessageOutcome> {
  const at = new Date();
  const connections = (await connectionsOfUser(endpoint.code, user)).map((c) => c.connectionId);
  const counts = await postAll(connections, text, options);
  let wcs: EndpointMessageRecord['wcs'];
  if (options.wcs && endpoint.appKey) {
    const summary = await sendNow(
      { userId: user, appKey: endpoint.appKey },
      { type: 'endpointMessage', endpoint: endpoint.code, text },
      at,
    );
    wcs = {
      targets: summary.targets,
      sent: summary.sent,
      failed: summary.failed + summary.gone,
      queued: summary.queued,
    };
  }
  return recorded(endpoint, user, text, options.origin, counts, at, wcs);
}

/** `text` to everyone on `endpoint`; recorded under user `*`. */
export async function sendToEveryone(
  endpoint: Endpoint,
  text: string,
  options: Delivery & { readonly origin: MessageOrigin },
): Promise<MessageOutcome> {
  const at = new Date();
  const connections = (await connectionsOnEndpoint(endpoint.code)).map((c) => c.connectionId);
  return recorded(endpoint, '*', text, options.origin, await postAll(connections, text, options), at);
}
