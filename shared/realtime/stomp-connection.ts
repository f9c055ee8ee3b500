/**
 * One step of a realtime connection, whatever carries it (the local `ws` server, API Gateway's
 * `$default` route): the decoded frames are applied to the connection's stored STOMP state, the
 * state is saved, and the frames to send back (and whether to close) are returned.
 */
import { encodeFrame, type StompFrame } from '../stomp/codec.ts';
import { handleFrame, type StompSessionState } from '../stomp/session.ts';
import { loadConnection, saveConnection } from './connections.ts';
import { handleRealm } from './realms.ts';

export interface StepResult {
  /** Encoded frames to send, in order. */
  readonly replies: string[];
  /** The connection must be closed after the replies (an ERROR, or DISCONNECT). */
  readonly close: boolean;
  /** The state after the frames, e.g. the negotiated heart-beat. */
  readonly state: StompSessionState;
}

export async function handleFrames(
  connectionId: string,
  frames: readonly StompFrame[],
  options: { canSendHeartbeats?: boolean } = {},
): Promise<StepResult> {
  const state = await loadConnection(connectionId);
  const replies: string[] = [];
  let close = false;
  for (const frame of frames) {
    const before = structuredClone(state);
    const actions = await handleFrame(state, frame, handleRealm, connectionId, options);
    await saveConnection(connectionId, before, state);
    for (const action of actions) {
      if (action.kind === 'close') close = true;
      else replies.push(encodeFrame(action.frame.command, action.frame.headers, action.frame.body));
    }
    if (close) break;
  }
  return { replies, close, state };
}
