/**
 * The token an operator presents to the monitoring API: to open a realtime connection (`?token=`;
 * browsers cannot set headers on a WebSocket) and to call the REST realms (`Authorization: Bearer`),
 * as an OAM client does without AWS signatures. In AWS it is the Secrets Manager secret named by
 * `REALTIME_TOKEN_ARN`, read once and cached (5 minutes); locally the operator API's `API_TOKEN`.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { setting } from './config.ts';
import { safeEqual } from './digest.ts';

async function expected(): Promise<string | undefined> {
  const arn = setting('REALTIME_TOKEN_ARN');
  if (arn) {
    const value = await getSecret(arn, { maxAge: 300 });
    return typeof value === 'string' ? value : undefined;
  }
  return setting('API_TOKEN');
}

/** True when `presented` is the realtime token, compared in constant time. */
export async function isRealtimeToken(presented: string | undefined): Promise<boolean> {
  const token = await expected();
  if (!token || !presented) return false;
  return safeEqual(presented, token);
}
