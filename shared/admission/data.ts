/** Admission of `OnDataEvent` (reference §1.3). `docs/policy.md` explains the model. */
import { type AppPolicy, getAppPolicy } from '../apps.ts';
import { recordDataMessage } from '../data-messages.ts';
import { DecisionRefusedError } from '../errors.ts';
import type { HookAnswer } from '../hook-handler.ts';
import type { OnDataEventBody } from '../schemas.ts';
import { actingSession } from './acting-session.ts';

/**
 * Decides an `OnDataEvent` (reference §1.3): the session may act, may send data (open apps: yes;
 * token apps: the token's `data` claim), and the payload is within the app's size limit.
 */
export async function decideData(body: OnDataEventBody, payloadBytes: number): Promise<AppPolicy> {
  const [policy, session] = await Promise.all([getAppPolicy(body.appKey), actingSession(body.sessionId)]);
  if (policy.admission === 'token' && !session.grantsData)
    throw new DecisionRefusedError('not allowed to send data');
  if (payloadBytes > policy.dataMaxBytes) {
    throw new DecisionRefusedError(`payload is ${payloadBytes} bytes; the app allows ${policy.dataMaxBytes}`);
  }
  return policy;
}

/** `OnDataEvent`: decides, and records the message with the decision, refused ones included. */
export async function admitData(body: OnDataEventBody, receivedAt: Date): Promise<HookAnswer> {
  const payloadBytes = Buffer.byteLength(JSON.stringify(body.payload));
  try {
    await decideData(body, payloadBytes);
  } catch (error) {
    if (error instanceof DecisionRefusedError) await recordDataMessage(body, 'REFUSED', receivedAt);
    throw error;
  }
  await recordDataMessage(body, 'ACCEPTED', receivedAt);
  return undefined;
}
