/** The session behind a stream or data hook, as decisions need it. */
import { DecisionRefusedError } from '../errors.ts';
import { getSession, type SessionState } from '../sessions.ts';

/** The session a stream or data hook belongs to, if it may act: known, not ended, not revoked. */
export async function actingSession(sessionId: string): Promise<SessionState> {
  const session = await getSession(sessionId);
  if (!session)
    throw new DecisionRefusedError('session unknown (was its connect hook sent to this backend?)');
  if (session.ended) throw new DecisionRefusedError(`session ${session.status.toLowerCase()}`);
  if (session.revoked) throw new DecisionRefusedError('session revoked');
  return session;
}
