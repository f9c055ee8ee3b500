/**
 * Sessions: one item per WCS WebSocket session (`sessionId`), from `connect` to DISCONNECTED or
 * FAILED. See `docs/data-model.md` for the attributes and the queries they serve.
 */
import { applyTransition, type LifecycleModel, type TransitionOutcome } from './lifecycle.ts';
import { expiresAtFor } from './retention.ts';
import type { ConnectBody, ConnectionStatusEventBody } from './schemas.ts';
import { tableNameOf } from './store/dynamo.ts';

const tableName = tableNameOf('sessions');

/**
 * Session statuses (reference §3.2): PENDING from `connect` until WCS reports ESTABLISHED, then
 * DISCONNECTED or FAILED. FAILED outranks DISCONNECTED because WCS sends FAILED then DISCONNECTED
 * for a refused connect (§1.2), and the failure is the fact worth keeping.
 */
export const SESSION_LIFECYCLE: LifecycleModel = {
  ranks: { PENDING: 0, ESTABLISHED: 1, DISCONNECTED: 2, FAILED: 3 },
  liveAttribute: 'openAppKey',
  liveFromRank: 0,
};

/** What every hook of a session says about its client; the same in each, so the first one seen is kept. */
function clientFacts(body: ConnectBody) {
  return {
    nodeId: body.nodeId,
    appKey: body.appKey,
    clientVersion: body.clientVersion,
    clientOSVersion: body.clientOSVersion,
    clientBrowserVersion: body.clientBrowserVersion,
    mediaProviders: body.mediaProviders,
    // Client-defined JSON, kept as text: any depth, any number, nothing DynamoDB could refuse.
    custom: body.custom === undefined || body.custom === null ? undefined : JSON.stringify(body.custom),
  };
}

/** Records a `connect` (reference §1.2): the session exists, PENDING until ESTABLISHED. */
export function recordConnect(body: ConnectBody, receivedAt: Date): Promise<TransitionOutcome> {
  return applyTransition(tableName, SESSION_LIFECYCLE, {
    key: { sessionId: body.sessionId },
    status: 'PENDING',
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    expiresAt: expiresAtFor(receivedAt),
    constants: { ...clientFacts(body), connectedAt: receivedAt.toISOString() },
    latest: {},
  });
}

/** Records a `ConnectionStatusEvent` (reference §1.4): ESTABLISHED, FAILED or DISCONNECTED, with `info`. */
export function recordConnectionStatus(
  body: ConnectionStatusEventBody,
  receivedAt: Date,
): Promise<TransitionOutcome> {
  return applyTransition(tableName, SESSION_LIFECYCLE, {
    key: { sessionId: body.sessionId },
    status: body.status,
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    expiresAt: expiresAtFor(receivedAt),
    constants: clientFacts(body),
    latest: { info: body.info },
  });
}
