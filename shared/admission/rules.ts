/**
 * The admission rules, pure: given the app's policy and what is known of the session and its token,
 * each says whether a hook is admitted, and throws `DecisionRefusedError` with the reason WCS and
 * the operator see when it is not. The `decide*` functions of this folder gather the facts (the
 * policy, the session, the token's verification) and apply these; `docs/policy.md` explains the
 * model.
 */
import { DecisionRefusedError } from '../kernel/errors.ts';
import type { AppPolicy } from '../state/apps.ts';
import type { Denial } from '../state/denials.ts';
import type { TransitionResult } from '../state/lifecycle.ts';
import { ANONYMOUS, type ClientGrants, type SessionState } from '../state/sessions.ts';
import { matchesAny } from './grants.ts';
import { MAX_USER_ID_BYTES } from './tokens.ts';

/** What a `connect` carried as a token, once verified against the app's policy. */
export type TokenCheck =
  | { readonly kind: 'absent' }
  | { readonly kind: 'valid'; readonly grants: ClientGrants }
  | { readonly kind: 'rejected'; readonly reason: string };

/**
 * A `connect` (reference §1.2): `closed` apps admit nobody; `token` apps need a valid token;
 * `open` apps admit everyone, with the user of a valid token when one is given anyway.
 */
export function connectRule(
  policy: AppPolicy,
  appKey: string,
  token: TokenCheck,
): { readonly grants?: ClientGrants } {
  if (policy.admission === 'closed') throw new DecisionRefusedError(`app ${appKey} admits no client`);
  if (token.kind === 'valid') return { grants: token.grants };
  if (policy.admission === 'token') {
    throw new DecisionRefusedError(
      token.kind === 'absent' ? `token required at ${policy.tokenPath}` : token.reason,
    );
  }
  return {};
}

/**
 * May the session a stream or data hook belongs to act? A known one may unless ended or revoked; a
 * session this backend never saw (`undefined`) may act under an `open` policy only (WCS's EchoApp
 * would let it; a `token` or `closed` app has no token to go by).
 */
export function actingRule(policy: AppPolicy, session: SessionState | undefined): void {
  if (!session) {
    if (policy.admission !== 'open')
      throw new DecisionRefusedError('session unknown (was its connect hook sent to this backend?)');
    return;
  }
  if (session.ended) throw new DecisionRefusedError(`session ${session.status.toLowerCase()}`);
  if (session.revoked) throw new DecisionRefusedError('session revoked');
}

/**
 * A session is on the node of its first hook: a publishStream, playStream or OnDataEvent from
 * another node is not its own (a spoofed or misrouted hook), and is refused, naming both nodes.
 */
export function sameNodeRule(session: SessionState | undefined, method: string, nodeId: string): void {
  if (session && session.nodeId !== nodeId)
    throw new DecisionRefusedError(
      `session ${session.sessionId} is on node ${session.nodeId}; this ${method} came from node ${nodeId}`,
    );
}

/**
 * A decision's own record of its session or stream (`connect`, publishStream, playStream) must be
 * the item's: one the lifecycle did not apply (`foreign`: the item is on another node;
 * `earlier-generation`: a later connection has the id since) is refused, saying why.
 */
export function recordRule(result: TransitionResult, subject: string, method: string, nodeId: string): void {
  if (result.outcome === 'foreign')
    throw new DecisionRefusedError(
      `${subject} is on node ${result.itemNodeId}; this ${method} came from node ${nodeId}`,
    );
  if (result.outcome === 'earlier-generation')
    throw new DecisionRefusedError(
      `${subject} was used again by a later connection (${result.generationStartedAt})`,
    );
}

/** In a `token` app that requires it, the session's token grants `action` on stream `name`. */
export function streamGrantRule(
  policy: AppPolicy,
  action: 'publish' | 'play',
  session: SessionState,
  name: string,
): void {
  const required = action === 'publish' ? policy.publishRequiresGrant : policy.playRequiresGrant;
  const grants = action === 'publish' ? session.grantsPublish : session.grantsPlay;
  if (policy.admission === 'token' && required && !matchesAny(grants, name)) {
    throw new DecisionRefusedError(`not allowed to ${action} "${name}"`);
  }
}

/** The refusal of a play at the app's player limit. */
export function playerLimitRefusal(name: string, maxPlayers: number): DecisionRefusedError {
  return new DecisionRefusedError(`"${name}" has its maximum of ${maxPlayers} players`);
}

/** An `OnDataEvent` (reference §1.3): the session may send data, and the payload is within the app's limit. */
export function dataRule(policy: AppPolicy, session: SessionState, payloadBytes: number): void {
  if (policy.admission === 'token' && !session.grantsData)
    throw new DecisionRefusedError('not allowed to send data');
  if (payloadBytes > policy.dataMaxBytes) {
    throw new DecisionRefusedError(`payload is ${payloadBytes} bytes; the app allows ${policy.dataMaxBytes}`);
  }
}

/**
 * The user a payload is addressed to, when a client sends data to another (`{"to": "<user>", ...}`),
 * the way meveo's WebSocket endpoints let user agents talk to each other. `undefined` when the
 * payload names nobody; a refusal when it names what is not one user: empty, the anonymous
 * placeholder (`-`, every session without a user), or wildcard-like (`*`, `?`, `#`, which our keys
 * use), or too long to be a user id.
 */
export function relayTarget(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  if (!('to' in payload)) return undefined;
  const to = (payload as Record<string, unknown>).to;
  if (typeof to !== 'string' || to.trim() === '')
    throw new DecisionRefusedError('relay target "to" must name a user');
  if (to === ANONYMOUS || /[*?#]/.test(to) || Buffer.byteLength(to) > MAX_USER_ID_BYTES)
    throw new DecisionRefusedError(`relay target "${to.slice(0, 64)}" is not a user id`);
  return to;
}

/**
 * A `StreamKeepAliveEvent` (reference §1.4) from node `nodeId`: a 403 ends the stream, so only a
 * revoked session's own stream is refused. An unknown session is let be: keep-alives must not cut
 * streams whose earlier hooks this backend missed; nor is a keep-alive from another node than the
 * session's ever refused (it is not applied either): what it would end is not that session's stream.
 */
export function keepAliveRule(session: SessionState | undefined, nodeId: string): void {
  if (session?.revoked && session.nodeId === nodeId) throw new DecisionRefusedError('session revoked');
}

/**
 * A denied user or token (`deny`) is refused at `connect`, at every decision and at its keep-alive
 * (a 403 ends the stream, reference §1.4). The refusal names what is denied and until when; the
 * operator's reason is not sent to WCS.
 */
export function denialRule(denial: Denial | undefined): void {
  if (!denial) return;
  const what = denial.subject === 'user' ? `user ${denial.name}` : `token ${denial.name}`;
  throw new DecisionRefusedError(`${what} is denied${denial.until ? ` until ${denial.until}` : ''}`);
}
