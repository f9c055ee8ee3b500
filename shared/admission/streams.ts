/**
 * Admission of `publishStream` and `playStream` (reference §1.3): grants, one publisher per name,
 * players per stream. `docs/policy.md` explains the model.
 */
import { type AppPolicy, getAppPolicy } from '../apps.ts';
import { DecisionRefusedError } from '../errors.ts';
import { matchesAny } from '../grants.ts';
import type { HookAnswer } from '../hook-handler.ts';
import type { StreamBody } from '../schemas.ts';
import { admitPlayer, claimPublisher } from '../stream-names.ts';
import { recordStreamStatus } from '../streams.ts';
import { actingSession } from './acting-session.ts';

export interface StreamDecision {
  readonly policy: AppPolicy;
  /** The publisher holds its name (one publisher per name): it must be released when the stream ends. */
  readonly holdsName: boolean;
  /** Fields WCS overwrites (restPolicy OVERWRITE), e.g. `record` when the app forces recording. */
  readonly fields?: Record<string, unknown>;
}

/**
 * Decides a `publishStream` (reference §1.3): the session may act; with tokens, a `publish` grant
 * matches the name; with one publisher per name, the name is free (claimed atomically).
 */
export async function decidePublish(body: StreamBody, now: Date): Promise<StreamDecision> {
  const [policy, session] = await Promise.all([getAppPolicy(body.appKey), actingSession(body.sessionId)]);
  if (
    policy.admission === 'token' &&
    policy.publishRequiresGrant &&
    !matchesAny(session.grantsPublish, body.name)
  ) {
    throw new DecisionRefusedError(`not allowed to publish "${body.name}"`);
  }
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
  const [policy, session] = await Promise.all([getAppPolicy(body.appKey), actingSession(body.sessionId)]);
  if (
    policy.admission === 'token' &&
    policy.playRequiresGrant &&
    !matchesAny(session.grantsPlay, body.name)
  ) {
    throw new DecisionRefusedError(`not allowed to play "${body.name}"`);
  }
  if (policy.maxPlayersPerStream !== undefined) {
    const admitted = await admitPlayer(body.appKey, body.name, body, policy.maxPlayersPerStream, now);
    if (!admitted)
      throw new DecisionRefusedError(
        `"${body.name}" has its maximum of ${policy.maxPlayersPerStream} players`,
      );
  }
  return { policy, holdsName: false };
}

/** `publishStream` / `playStream`: decides, then records the stream PENDING with what it holds. */
export async function admitStream(body: StreamBody, receivedAt: Date): Promise<HookAnswer> {
  const decision = body.published
    ? await decidePublish(body, receivedAt)
    : await decidePlay(body, receivedAt);
  await recordStreamStatus({ ...body, ...decision.fields }, body.status ?? 'PENDING', receivedAt, {
    ...(decision.holdsName && { holdsName: true }),
  });
  return decision.fields ? { fields: decision.fields } : undefined;
}
