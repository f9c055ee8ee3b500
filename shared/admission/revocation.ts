/**
 * Revocation: `npm run cli -- revoke --user U [--app A] | --session S`. A revoked session may not
 * publish, play or send data, and its next StreamKeepAliveEvent answers 403, which makes WCS end the
 * stream (reference §1.4): the client is cut off within one keep-alive period.
 */
import { appKeysOr } from '../state/apps.ts';
import { listOpenSessions, revokeSession } from '../state/sessions.ts';

/** Revokes every open session of `userId` in `appKey`, or in every app with a stored policy. Returns their ids. */
export async function revokeUser(userId: string, appKey: string | undefined, now: Date): Promise<string[]> {
  const apps = await appKeysOr(appKey);
  const revoked: string[] = [];
  for (const app of apps) {
    for (const session of await listOpenSessions(app, userId)) {
      if (await revokeSession(session.sessionId, now)) revoked.push(session.sessionId);
    }
  }
  return revoked;
}
