/**
 * Admission of `publishStream` and `playStream` (reference §1.3): grants, one publisher per name,
 * players per stream. `docs/policy.md` explains the model.
 */

import type { HookAnswer, RefusalEvent, RefusalMark } from '../http/hook-handler.ts';
import { DecisionRefusedError } from '../kernel/errors.ts';
import type { StreamBody } from '../kernel/schemas.ts';
import type { AppPolicy } from '../state/apps.ts';
import { admitPlayer, claimPublisher } from '../state/stream-names.ts';
import { recordStreamRefusal, recordStreamStatus } from '../state/streams.ts';
import { actingSession, counted } from './acting-session.ts';
import { playerLimitRefusal, recordRule, streamGrantRule } from './rules.ts';

export interface StreamDecision {
  readonly policy: AppPolicy;
  /** The publisher holds its name (one publisher per name): it must be released when the stream ends. */
  readonly holdsName: boolean;
  /** Fields WCS overwrites (restPolicy OVERWRITE), e.g. `record` when the app forces recording. */
  readonly fields?: Record<string, unknown>;
}

/**
 * The app's policy, once the session may act and, in a token app that requires it, the token
 * grants `action` on the stream's name.
 */
async function grantedPolicy(
  body: StreamBody,
  action: 'publish' | 'play',
  receivedAt: Date,
): Promise<AppPolicy> {
  const method = action === 'publish' ? 'publishStream' : 'playStream';
  const { policy, session } = await actingSession({ method, body, receivedAt });
  streamGrantRule(policy, action, session, body.name);
  return policy;
}

/**
 * Decides a `publishStream` (reference §1.3): the session may act; with tokens, a `publish` grant
 * matches the name; with one publisher per name, the name is free (claimed atomically).
 */
export async function decidePublish(body: StreamBody, now: Date): Promise<StreamDecision> {
  const policy = await grantedPolicy(body, 'publish', now);
  if (policy.singlePublisher) {
    const claim = await claimPublisher(body.appKey, body.name, body, now);
    if (!claim.claimed) throw new DecisionRefusedError('Stream name is already in use');
  }
  return {
    policy,
    holdsName: policy.singlePublisher,
    ...(policy.forceRecord && { fields: { record: true } }),
  };
}

/**
 * Decides a `playStream` (reference §1.3): the session may act; with tokens, a `play` grant matches
 * the name; with a player limit, a place is taken atomically.
 */
export async function decidePlay(body: StreamBody, now: Date): Promise<StreamDecision> {
  const policy = await grantedPolicy(body, 'play', now);
  if (policy.maxPlayersPerStream !== undefined) {
    const admitted = await admitPlayer(body.appKey, body.name, body, policy.maxPlayersPerStream, now);
    if (!admitted) throw playerLimitRefusal(body.name, policy.maxPlayersPerStream);
  }
  return { policy, holdsName: false };
}

/**
 * `publishStream` / `playStream`: decides, then records the stream PENDING with what it holds. A
 * stream already recorded on another node (its `mediaSessionId` reported there first) is refused.
 */
export async function admitStream(body: StreamBody, receivedAt: Date): Promise<HookAnswer> {
  const decision = body.published
    ? await decidePublish(body, receivedAt)
    : await decidePlay(body, receivedAt);
  const result = await recordStreamStatus(
    { ...body, ...decision.fields },
    body.status ?? 'PENDING',
    receivedAt,
    { ...(decision.holdsName && { holdsName: true }) },
  );
  const method = body.published ? 'publishStream' : 'playStream';
  counted(() => recordRule(result, `stream ${body.mediaSessionId}`, method, body.nodeId), result.itemNodeId);
  return decision.fields ? { fields: decision.fields } : undefined;
}

/**
 * A `publishStream` or `playStream` refused by its fail mode is recorded as WCS reports a stream
 * that did not start: a FAILED StreamStatusEvent, which releases what the stream holds. A claim of
 * the name landing after it is held by an ended stream, which the next publisher replaces; a
 * player's place landing after it is not taken (`admitPlayer` admits no ended stream).
 */
export const streamRefusal: RefusalEvent<StreamBody> = (body, info) => ({
  method: 'StreamStatusEvent',
  body: { ...body, status: 'FAILED', info },
});

/**
 * A refused `publishStream` or `playStream` is marked so on its stream (`recordStreamRefusal`):
 * the FAILED WCS then reports (reference §1.3) is a refusal's, counted with the refusals, not as
 * a publish or play that failed, nor shown among a publisher's subscribers.
 */
export const streamRefused: RefusalMark<StreamBody> = recordStreamRefusal;
