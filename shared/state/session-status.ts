/**
 * When a session ends, the holds of all its streams are released. WCS ends the streams of a closed
 * session itself, but their own end hooks may be lost.
 */

import type { ConnectionStatusEventBody } from '../kernel/schemas.ts';
import { type Reported, TERMINAL_RANK, type TransitionResult } from './lifecycle.ts';
import { recordConnectionStatus } from './sessions.ts';
import { releaseSessionHolds } from './stream-names.ts';

/**
 * Records a ConnectionStatusEvent (`reported`: when an end happened, or found by reconciliation);
 * when it ends the session, releases the holds of all its streams. Answers what the record did.
 */
export async function connectionStatusChanged(
  body: ConnectionStatusEventBody,
  receivedAt: Date,
  reported: Reported = {},
): Promise<TransitionResult> {
  const result = await recordConnectionStatus(body, receivedAt, reported);
  const { item } = result;
  if (item && Number(item.statusRank) >= TERMINAL_RANK) await releaseSessionHolds(body.sessionId, receivedAt);
  return result;
}
