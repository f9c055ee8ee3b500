/** Admission of `StreamKeepAliveEvent` (reference §1.4): how a revoked or denied session's streams are ended. */

import type { HookAnswer, HookInvocation } from '../http/hook-handler.ts';
import { digestOf } from '../kernel/digest.ts';
import type { StreamStatusEventBody } from '../kernel/schemas.ts';
import { currentDenials, denialOf } from '../state/denials.ts';
import type { TransitionResult } from '../state/lifecycle.ts';
import { keepNotApplied } from '../state/recorders.ts';
import { getSession } from '../state/sessions.ts';
import { recordKeepAlive } from '../state/streams.ts';
import { denialRule, keepAliveRule } from './rules.ts';

/**
 * Decides a `StreamKeepAliveEvent` (reference §1.4): a 403 ends the stream, so only a revoked
 * session's own stream, or one of a denied user or token (`denialRule`), is refused. An unknown session is let be: keep-alives must not cut streams
 * whose earlier hooks this backend missed; nor is one from another node than the session's refused.
 * Answers the node the session is on, when that is another node than the keep-alive's.
 */
export async function decideKeepAlive(body: StreamStatusEventBody): Promise<{ otherNode?: string }> {
  const denials = currentDenials();
  const session = await getSession(body.sessionId);
  keepAliveRule(session, body.nodeId);
  if (session?.nodeId === body.nodeId) denialRule(await denialOf(session, new Date(), denials));
  return session && session.nodeId !== body.nodeId ? { otherNode: session.nodeId } : {};
}

/** Keeps, as the recorders do, a keep-alive its stream did not take (from another node than the stream's). */
const keep = keepNotApplied();

/**
 * `StreamKeepAliveEvent`: refuses a revoked or denied session's stream (WCS then ends it), records the
 * keep-alive; one from another node than its session's or its stream's is answered 200 and kept
 * as an event only.
 */
export async function admitKeepAlive(hook: HookInvocation<StreamStatusEventBody>): Promise<HookAnswer> {
  const { method, body, rawBody, receivedAt } = hook;
  const { otherNode } = await decideKeepAlive(body);
  const result: TransitionResult | undefined =
    otherNode === undefined
      ? await recordKeepAlive(body, body.status, receivedAt)
      : { outcome: 'foreign', itemNodeId: otherNode };
  await keep(result, body, { method, receivedAt, digest: digestOf(rawBody) });
  return undefined;
}
