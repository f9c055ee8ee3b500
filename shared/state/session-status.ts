/**
 * When a session ends, the holds of all its streams are released. WCS ends the streams of a closed
 * session itself, but their own end hooks may be lost.
 */

import type { ConnectionStatusEventBody } from '../kernel/schemas.ts';
import { TERMINAL_RANK } from './lifecycle.ts';
import { recordConnectionStatus } from './sessions.ts';
import { releaseSessionHolds } from './stream-names.ts';

/** Records a ConnectionStatusEvent; when it ends the session, releases the holds of all its streams. */
export async function connectionStatusChanged(
  body: ConnectionStatusEventBody,
  receivedAt: Date,
): Promise<void> {
  const { item } = await recordConnectionStatus(body, receivedAt);
  if (item && Number(item.statusRank) >= TERMINAL_RANK) await releaseSessionHolds(body.sessionId, receivedAt);
}
