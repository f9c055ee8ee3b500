/**
 * The hook HMAC secrets (WCS's `rest_hook_secret_key`), as a list so that a new secret can be added
 * before the WCS nodes switch to it and the old one removed after.
 *
 * - In AWS, `WCS_HOOK_SECRET_ARN` names a Secrets Manager secret whose value is the comma-separated
 *   list. It is read on the first hook and cached for five minutes, so a rotation reaches every warm
 *   function within that time; the value never appears in an environment variable or a log. While
 *   Secrets Manager cannot be reached, the secrets last read serve for `LAST_GOOD_MS` (an hour)
 *   more, logged: every hook would otherwise be answered 500 through a Secrets Manager outage.
 * - Locally, `WCS_HOOK_SECRET` holds the comma-separated list itself.
 * - Neither set: signatures are not checked (WCS's default `rest_hook_send_hash=false`).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';

const CACHE_SECONDS = 300;
const secretArn = setting('WCS_HOOK_SECRET_ARN');

/** The secrets in a comma-separated list, trimmed, empties dropped. */
export function parseSecretList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * The secrets `WCS_HOOK_SECRET` lists. Unset or empty, signatures are not checked; set to something
 * that lists no secret (`" , "`), it throws: that is a configuration verifying nothing while it
 * looks like it does, and the function (or `npm start`) must not start with it.
 */
export function secretsFromEnvironment(raw: string | undefined): string[] {
  const secrets = parseSecretList(raw);
  if (secrets.length === 0 && raw !== undefined && raw !== '')
    throw new Error('WCS_HOOK_SECRET is set but lists no secret: give comma-separated secrets, or unset it');
  return secrets;
}

const fromEnvironment = secretsFromEnvironment(setting('WCS_HOOK_SECRET'));

/** How long after they were read the secrets serve while Secrets Manager cannot be reached. */
export const LAST_GOOD_MS = 60 * 60_000;

let lastGood: { secrets: string[]; readAt: number } | undefined;

/** The secrets a hook's `Authorization` may be signed with. */
export async function hookSecrets(): Promise<readonly string[]> {
  if (!secretArn) return fromEnvironment;
  let value: unknown;
  try {
    value = await getSecret(secretArn, { maxAge: CACHE_SECONDS });
  } catch (error) {
    if (lastGood === undefined || Date.now() - lastGood.readAt > LAST_GOOD_MS) throw error;
    logger.warn('Secrets Manager cannot be reached: the hook secrets last read serve', {
      readAt: new Date(lastGood.readAt).toISOString(),
      error: (error as Error).message,
    });
    return lastGood.secrets;
  }
  const secrets = parseSecretList(typeof value === 'string' ? value : undefined);
  // A configured but empty secret must not silently turn verification off.
  if (secrets.length === 0) throw new Error(`secret ${secretArn} holds no hook secret`);
  lastGood = { secrets, readAt: Date.now() };
  return secrets;
}
