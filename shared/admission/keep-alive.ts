/** Admission of `StreamKeepAliveEvent` (reference §1.4): how a revoked session's streams are ended. */

import type { HookAnswer } from '../http/hook-handler.ts';
import type { StreamStatusEventBody } from '../kernel/schemas.ts';
import { getSession } from '../state/sessions.ts';
import { recordKeepAlive } from '../state/streams.ts';
import { keepAliveRule } from './rules.ts';

/**
 * Decides a `StreamKeepAliveEvent` (reference §1.4): a 403 ends the stream, so only a revoked
 * session is refused. An unknown session is let be: keep-alives must not cut streams whose
 * earlier hooks this backend missed.
 */
export async function decideKeepAlive(body: StreamStatusEventBody): Promise<void> {
  keepAliveRule(await getSession(body.sessionId));
}

/** `StreamKeepAliveEvent`: refuses a revoked session's stream (WCS then ends it), records the keep-alive. */
export async function admitKeepAlive(body: StreamStatusEventBody, receivedAt: Date): Promise<HookAnswer> {
  await decideKeepAlive(body);
  await recordKeepAlive(body, body.status, receivedAt);
  return undefined;
}
