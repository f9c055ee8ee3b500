/**
 * When a stream ends, what it held (its name, its place as a player) is released, so the next
 * publisher or player is not refused because of it.
 */

import type { StreamStatusEventBody } from '../kernel/schemas.ts';
import { TERMINAL_RANK } from './lifecycle.ts';
import { releaseHolds } from './stream-names.ts';
import { recordStreamStatus } from './streams.ts';

/** Records a StreamStatusEvent; when it ends the stream, releases the stream's holds. */
export async function streamStatusChanged(body: StreamStatusEventBody, receivedAt: Date): Promise<void> {
  const { item } = await recordStreamStatus(body, body.status, receivedAt);
  if (item && Number(item.statusRank) >= TERMINAL_RANK) await releaseHolds(item, receivedAt);
}
