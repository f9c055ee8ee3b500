/**
 * Admission of a `connect` (reference §1.2): by the app's policy, with the client's token.
 * `docs/policy.md` explains the model.
 */

import type { HookAnswer, RefusalEvent, RefusalMark } from '../http/hook-handler.ts';
import { setting } from '../kernel/config.ts';
import { valueAt } from '../kernel/dotted-path.ts';
import type { ConnectBody } from '../kernel/schemas.ts';
import { type AppPolicy, getAppPolicy } from '../state/apps.ts';
import { currentDenials, denialOf } from '../state/denials.ts';
import { type ClientGrants, recordConnect, recordConnectRefusal } from '../state/sessions.ts';
import { counted } from './acting-session.ts';
import { restClientConfigFor } from './rest-client-config.ts';
import { connectRule, denialRule, recordRule, type TokenCheck } from './rules.ts';
import { TokenRejectedError, verifyClientToken } from './tokens.ts';

const keepSdp = setting('STORE_SDP');

export interface ConnectDecision {
  readonly policy: AppPolicy;
  readonly grants?: ClientGrants;
}

/**
 * Decides a `connect` (`connectRule`): the app's policy, and the token at the policy's token path,
 * verified (`tokens.ts`) unless the app admits nobody anyway; its user and token not denied
 * (`denialRule`).
 */
export async function decideConnect(body: ConnectBody): Promise<ConnectDecision> {
  const denials = currentDenials();
  const policy = await getAppPolicy(body.appKey);
  const token = valueAt(body, policy.tokenPath);
  let check: TokenCheck = { kind: 'absent' };
  if (policy.admission !== 'closed' && typeof token === 'string' && token !== '') {
    try {
      check = { kind: 'valid', grants: await verifyClientToken(token, policy) };
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      check = { kind: 'rejected', reason: error.reason };
    }
  }
  const { grants } = connectRule(policy, body.appKey, check);
  if (grants) denialRule(await denialOf({ appKey: body.appKey, ...grants }, new Date(), denials));
  return { policy, ...(grants && { grants }) };
}

/**
 * `connect`: decides, records the admitted session with its user (a new generation of an ended
 * session's id), answers with the `restClientConfig`. A session id open on another node is
 * refused (`recordRule`): its hooks would not be applied, so the client could do nothing.
 */
export async function admitConnect(body: ConnectBody, receivedAt: Date): Promise<HookAnswer> {
  const { policy, grants } = await decideConnect(body);
  const result = await recordConnect(body, receivedAt, {
    ...(grants && { grants }),
    tokenPath: policy.tokenPath,
  });
  const rule = () => recordRule(result, `session ${body.sessionId}`, 'connect', body.nodeId);
  if (result.outcome === 'foreign') counted(rule, result.itemNodeId);
  else rule();
  return { fields: { restClientConfig: restClientConfigFor(policy, keepSdp) } };
}

/**
 * A `connect` refused by its fail mode is recorded as WCS reports a refused connect (reference
 * §1.2): a FAILED ConnectionStatusEvent. FAILED is terminal, so a `connect` write of the abandoned
 * decision landing after it never makes the session open.
 */
export const connectRefusal: RefusalEvent<ConnectBody> = (body, info) => ({
  method: 'ConnectionStatusEvent',
  body: { nodeId: body.nodeId, appKey: body.appKey, sessionId: body.sessionId, status: 'FAILED', info },
});

/**
 * A refused `connect` is marked so on its session (`recordConnectRefusal`): the FAILED WCS then
 * reports (reference §1.2) is a refusal's, counted with the refusals, not as a session that failed.
 */
export const connectRefused: RefusalMark<ConnectBody> = recordConnectRefusal;
