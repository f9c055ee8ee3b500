/** The session behind a stream or data hook, as decisions need it. */

import { type AppPolicy, getAppPolicy } from '../state/apps.ts';
import { getSession, newSessionState, recordUnseenSession, type SessionState } from '../state/sessions.ts';
import { actingRule } from './rules.ts';

/** The hook a session acts through, as far as finding its session goes. */
export interface ActingHook {
  readonly method: string;
  readonly body: { readonly nodeId: string; readonly appKey: string; readonly sessionId: string };
  readonly receivedAt: Date;
}

/**
 * The app's policy, and the session a stream or data hook belongs to if it may act: not ended, not
 * revoked, and known (both read at once). A session this backend never saw is admitted under an
 * `open` policy, as WCS's EchoApp (and WCS itself, whose default `restOnError` is LOG for a session
 * this backend gave no `restClientConfig`) would let it act: it is recorded, marked
 * `connectSeen: false`. A `token` or `closed` app refuses it: there is no token to go by
 * (`docs/policy.md`).
 */
export async function actingSession(hook: ActingHook): Promise<{ policy: AppPolicy; session: SessionState }> {
  const [policy, known] = await Promise.all([
    getAppPolicy(hook.body.appKey),
    getSession(hook.body.sessionId),
  ]);
  actingRule(policy, known);
  if (!known) {
    await recordUnseenSession(hook.body, hook.method, hook.receivedAt);
    return { policy, session: newSessionState(hook.body) };
  }
  return { policy, session: known };
}
