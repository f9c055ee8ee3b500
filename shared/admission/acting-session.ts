/** The session behind a stream or data hook, as decisions need it. */

import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC } from '../kernel/metrics.ts';
import { type AppPolicy, getAppPolicy } from '../state/apps.ts';
import { currentDenials, denialOf } from '../state/denials.ts';
import { getSession, newSessionState, recordUnseenSession, type SessionState } from '../state/sessions.ts';
import { actingRule, denialRule, sameNodeRule } from './rules.ts';

/** The hook a session acts through, as far as finding its session goes. */
export interface ActingHook {
  readonly method: string;
  readonly body: { readonly nodeId: string; readonly appKey: string; readonly sessionId: string };
  readonly receivedAt: Date;
}

/**
 * The app's policy, and the session a stream or data hook belongs to if it may act: on the hook's
 * node (`sameNodeRule`: refused, counted and logged otherwise), not ended, not revoked, its user
 * and token not denied (`denialRule`), and known
 * (both read at once). A session this backend never saw is admitted under an
 * `open` policy, as WCS's EchoApp (and WCS itself, whose default `restOnError` is LOG for a session
 * this backend gave no `restClientConfig`) would let it act: it is recorded, marked
 * `connectSeen: false`. A `token` or `closed` app refuses it: there is no token to go by
 * (`docs/policy.md`).
 */
export async function actingSession(hook: ActingHook): Promise<{ policy: AppPolicy; session: SessionState }> {
  const denials = currentDenials();
  const [policy, known] = await Promise.all([
    getAppPolicy(hook.body.appKey),
    getSession(hook.body.sessionId),
  ]);
  counted(() => sameNodeRule(known, hook.method, hook.body.nodeId), known?.nodeId);
  actingRule(policy, known);
  if (known) denialRule(await denialOf(known, hook.receivedAt, denials));
  if (!known) {
    await recordUnseenSession(hook.body, hook.method, hook.receivedAt);
    return { policy, session: newSessionState(hook.body) };
  }
  return { policy, session: known };
}

/**
 * Applies `rule`, which refuses a hook from another node than its session's or stream's (on
 * `itemNodeId`): such a refusal is counted for the `HookFromOtherNode` alarm and logged, as the
 * recorders count such an event hook.
 */
export function counted(rule: () => void, itemNodeId: string | undefined): void {
  try {
    rule();
  } catch (error) {
    countForAlarm(METRIC.hookFromOtherNode);
    logger.warn('a decision from another node than its item was refused', { itemNodeId });
    throw error;
  }
}
