/** Admission of `OnDataEvent` (reference §1.3). `docs/policy.md` explains the model. */

import type { HookAnswer, RefusalEvent } from '../http/hook-handler.ts';
import { DecisionRefusedError } from '../kernel/errors.ts';
import type { OnDataEventBody } from '../kernel/schemas.ts';
import { enqueue } from '../sender/send-queue.ts';
import type { AppPolicy } from '../state/apps.ts';
import { recordDataMessage } from '../state/data-messages.ts';
import type { SessionState } from '../state/sessions.ts';
import { actingSession } from './acting-session.ts';
import { dataRule, relayTarget } from './rules.ts';

/**
 * Decides an `OnDataEvent` (reference §1.3): the session may act, may send data (open apps: yes;
 * token apps: the token's `data` claim), and the payload is within the app's size limit.
 */
export async function decideData(
  body: OnDataEventBody,
  payloadBytes: number,
  receivedAt: Date,
): Promise<{ policy: AppPolicy; session: SessionState }> {
  const { policy, session } = await actingSession({ method: 'OnDataEvent', body, receivedAt });
  dataRule(policy, session, payloadBytes);
  return { policy, session };
}

/**
 * `OnDataEvent`: decides, and records the message with the decision, refused ones included. A
 * payload addressed to another user is relayed, when the app allows it: queued for the sender,
 * so the answer to WCS does not wait for the delivery.
 */
export async function admitData(body: OnDataEventBody, receivedAt: Date): Promise<HookAnswer> {
  const payloadBytes = Buffer.byteLength(JSON.stringify(body.payload));
  let decision: Awaited<ReturnType<typeof decideData>>;
  let to: string | undefined;
  try {
    decision = await decideData(body, payloadBytes, receivedAt);
    to = decision.policy.allowRelay ? relayTarget(body.payload) : undefined;
  } catch (error) {
    if (error instanceof DecisionRefusedError) await recordDataMessage(body, 'REFUSED', receivedAt);
    throw error;
  }
  await recordDataMessage(body, 'ACCEPTED', receivedAt);
  if (to) {
    await enqueue([
      {
        kind: 'fanout',
        jobId: body.operationId,
        target: { userId: to, appKey: body.appKey },
        payload: { ...(body.payload as Record<string, unknown>), from: decision.session.userId ?? null },
        requestedAt: receivedAt.toISOString(),
      },
    ]);
  }
  return undefined;
}

/**
 * An `OnDataEvent` refused by its fail mode is recorded as WCS reports undelivered data: a FAILED
 * DataStatusEvent (FAILED is final for a data message, whatever lands after it).
 */
export const dataRefusal: RefusalEvent<OnDataEventBody> = (body, info) => ({
  method: 'DataStatusEvent',
  body: {
    nodeId: body.nodeId,
    appKey: body.appKey,
    sessionId: body.sessionId,
    operationId: body.operationId,
    status: 'FAILED',
    info,
  },
});
