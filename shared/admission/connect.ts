/**
 * Admission of a `connect` (reference §1.2): by the app's policy, with the client's token.
 * `docs/policy.md` explains the model.
 */

import type { HookAnswer, Refusal } from '../http/hook-handler.ts';
import { booleanEnv } from '../kernel/config.ts';
import { valueAt } from '../kernel/dotted-path.ts';
import { DecisionRefusedError } from '../kernel/errors.ts';
import { type ConnectBody, connectionStatusEventBody } from '../kernel/schemas.ts';
import { type AppPolicy, getAppPolicy } from '../state/apps.ts';
import { type ClientGrants, recordConnect, recordConnectionStatus } from '../state/sessions.ts';
import { restClientConfigFor } from './rest-client-config.ts';
import { TokenRejectedError, verifyClientToken } from './tokens.ts';

const keepSdp = booleanEnv('STORE_SDP', false);

export interface ConnectDecision {
  readonly policy: AppPolicy;
  readonly grants?: ClientGrants;
}

/**
 * Decides a `connect`. `closed` apps admit nobody; `token` apps need a valid token at the policy's
 * token path; `open` apps admit everyone, and record the user when a valid token is given anyway.
 */
export async function decideConnect(body: ConnectBody): Promise<ConnectDecision> {
  const policy = await getAppPolicy(body.appKey);
  if (policy.admission === 'closed') throw new DecisionRefusedError(`app ${body.appKey} admits no client`);
  const token = valueAt(body, policy.tokenPath);
  if (typeof token !== 'string' || token === '') {
    if (policy.admission === 'token') throw new DecisionRefusedError(`token required at ${policy.tokenPath}`);
    return { policy };
  }
  try {
    return { policy, grants: await verifyClientToken(token, policy) };
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) throw error;
    if (policy.admission === 'token') throw new DecisionRefusedError(error.reason);
    return { policy };
  }
}

/** `connect`: decides, records the admitted session with its user, answers with the `restClientConfig`. */
export async function admitConnect(body: ConnectBody, receivedAt: Date): Promise<HookAnswer> {
  const { policy, grants } = await decideConnect(body);
  await recordConnect(body, receivedAt, { ...(grants && { grants }), tokenPath: policy.tokenPath });
  return { fields: { restClientConfig: restClientConfigFor(policy, keepSdp) } };
}

/**
 * A `connect` refused by its fail mode is recorded as WCS reports a refused connect (reference
 * §1.2): a FAILED ConnectionStatusEvent. FAILED is terminal, so a `connect` write of the abandoned
 * decision landing after it never makes the session open.
 */
export const connectRefusal: Refusal<ConnectBody> = {
  event: (body, info) => ({
    method: 'ConnectionStatusEvent',
    body: { nodeId: body.nodeId, appKey: body.appKey, sessionId: body.sessionId, status: 'FAILED', info },
  }),
  apply: (event, receivedAt) => recordConnectionStatus(connectionStatusEventBody.parse(event), receivedAt),
};
