/**
 * When a stream ends, what it held (its name, its place as a player) is released, so the next
 * publisher or player is not refused because of it.
 */

import type { StreamStatusEventBody } from '../kernel/schemas.ts';
import { type Reported, TERMINAL_RANK, type TransitionResult } from './lifecycle.ts';
import { releaseHolds } from './stream-names.ts';
import { recordStreamStatus } from './streams.ts';

/**
 * Records a StreamStatusEvent (`reported`: when an end happened, or found by reconciliation); when
 * it ends the stream, releases the stream's holds. Answers what the record did.
 */
export async function streamStatusChanged(
  body: StreamStatusEventBody,
  receivedAt: Date,
  reported: Reported = {},
): Promise<TransitionResult> {
  const result = await recordStreamStatus(body, body.status, receivedAt, {}, reported);
  const { item } = result;
  if (item && Number(item.statusRank) >= TERMINAL_RANK) await releaseHolds(item, receivedAt);
  return result;
}
