/**
 * One WebSocket message of a realtime connection, whatever carries it (API Gateway's `$default`
 * route in AWS; locally the same function, called by the local server): the message is decoded
 * after the unfinished frame the connection's earlier messages left, its frames are applied to the
 * stored STOMP state, and state and pending bytes are saved once, in one conditional transaction.
 * Two messages of one connection handled at once (API Gateway may invoke `$default` concurrently)
 * never overwrite each other: the second save fails its condition, and that message is handled
 * again on the state the first one left. Replies are returned, to be sent only after the save.
 */

import { setting } from '../kernel/config.ts';
import { listAlarmStates } from '../state/monitoring.ts';
import { loadConnection, saveConnection } from './connections.ts';
import { handleRealm } from './realms.ts';
import { decodeMessage, encodeFrame, FrameTooLargeError } from './stomp/codec.ts';
import {
  ALARM_DESTINATIONS,
  type FrameContext,
  handleFrame,
  type StompSessionState,
} from './stomp/session.ts';
import { thresholdAlarmView } from './views.ts';

/**
 * What every frame is handled with: the realms; the alarms already raised for a new `/alarm`
 * subscription; OAM's `stomp_max_timeout` for CONNECT.
 */
const FRAME_CONTEXT: FrameContext = {
  handleRequest: handleRealm,
  current: async (destination) =>
    ALARM_DESTINATIONS.includes(destination)
      ? (await listAlarmStates())
          .filter((s) => s.raised)
          .map((s) => thresholdAlarmView(s as unknown as Record<string, unknown>, 'RAISED'))
      : [],
  connectTimeoutMs: setting('STOMP_MAX_TIMEOUT_MS'),
};

export interface StepResult {
  /** Encoded frames to send, in order. */
  readonly replies: string[];
  /** The connection must be closed after the replies (an ERROR, or DISCONNECT). */
  readonly close: boolean;
}

/**
 * Attempts at a save before giving up. Each lost race means another message of the connection was
 * saved: a client subscribing to five destinations at once makes four losers, then three, ...
 * A random pause, longer each time, spreads the retries of the losers apart.
 */
const MAX_ATTEMPTS = 20;
const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * The most WebSocket messages one frame may be split over. STOMP clients split only frames too large
 * for one message (`@stomp/stompjs` into 8 KB chunks: a 128 KB frame is 16); each part rewrites the
 * unfinished frame stored with the connection, so a frame sent a byte at a time would cost its size
 * squared in writes (a 6 KB frame: 19 MB).
 */
export const MAX_FRAME_PARTS = 16;

const errorFrame = (message: string): StepResult => ({
  replies: [encodeFrame('ERROR', { message, 'content-type': 'text/plain' })],
  close: true,
});

export async function handleMessage(connectionId: string, message: string | Uint8Array): Promise<StepResult> {
  for (let attempt = 1; ; attempt++) {
    const stored = await loadConnection(connectionId);
    // $connect records every connection before its first message; none means it has closed.
    if (!stored) return errorFrame('unknown connection; connect again');
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(stored.pending, message);
    } catch (error) {
      if (error instanceof FrameTooLargeError) return errorFrame(error.message);
      throw error;
    }
    // The unfinished frame began in this message if it completed one before it; else it goes on.
    const pendingParts =
      decoded.pending.length === 0 ? 0 : decoded.frames.length > 0 ? 1 : stored.pendingParts + 1;
    if (pendingParts > MAX_FRAME_PARTS)
      return errorFrame(`a frame split over more than ${MAX_FRAME_PARTS} WebSocket messages`);
    const state: StompSessionState = structuredClone(stored.state);
    const replies: string[] = [];
    let close = false;
    for (const frame of decoded.frames) {
      for (const action of await handleFrame(state, frame, FRAME_CONTEXT, connectionId)) {
        if (action.kind === 'close') close = true;
        else replies.push(encodeFrame(action.frame.command, action.frame.headers, action.frame.body));
      }
      if (close) break;
    }
    // A closing connection is removed by $disconnect; a heart-beat changes nothing: no write for either.
    // The state is plain JSON data (it is stored as such): equal JSON is equal state.
    const unchanged =
      JSON.stringify(state) === JSON.stringify(stored.state) && sameBytes(decoded.pending, stored.pending);
    if (close || unchanged) return { replies, close };
    if (await saveConnection(connectionId, stored, { state, pending: decoded.pending, pendingParts }))
      return { replies, close };
    if (attempt === MAX_ATTEMPTS)
      throw new Error(`connection ${connectionId}: state changed under ${MAX_ATTEMPTS} saves in a row`);
    await pause(attempt);
  }
}
