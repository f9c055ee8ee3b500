/**
 * Per-app admission policy: who may connect, publish, play and send data in one WCS app
 * (`appKey`). Kept in the configuration store (`config-store.ts`, kind `app`), managed with
 * `npm run cli -- apps put|get|list|delete`, cached
 * in each function for `POLICY_CACHE_SECONDS` (default 10) so a decision rarely waits on a read.
 * An app with no policy follows `DEFAULT_APP_POLICY`. `docs/policy.md` explains the model.
 */

import { setting } from '../kernel/config.ts';
import { type AppPolicy, appPolicySchema, parseDefaultPolicy } from './app-policy.ts';
import { createConfig, deleteConfig, getConfig, listConfig, putConfig } from './config-store.ts';

export { type AppPolicy, appPolicyFields, appPolicySchema } from './app-policy.ts';

const cacheMs = setting('POLICY_CACHE_SECONDS') * 1000;

/** Read once, at load: a default policy that cannot be honoured fails the function's start. */
const DEFAULT_POLICY = parseDefaultPolicy(setting('DEFAULT_APP_POLICY'));

function defaultPolicy(appKey: string): AppPolicy {
  return { ...DEFAULT_POLICY, appKey, isDefault: true };
}

const cache = new Map<string, { policy: AppPolicy; until: number }>();

/** The stored policy of `appKey`, or `undefined` when the app has none (it follows the default). */
export async function findAppPolicy(appKey: string): Promise<AppPolicy | undefined> {
  const stored = await getConfig('app', appKey);
  return stored === undefined ? undefined : { ...appPolicySchema.parse(stored), appKey };
}

/** The policy of `appKey`, from a short cache, the table, or the default policy. */
export async function getAppPolicy(appKey: string): Promise<AppPolicy> {
  const cached = cache.get(appKey);
  if (cached && cached.until > Date.now()) return cached.policy;
  const policy = (await findAppPolicy(appKey)) ?? defaultPolicy(appKey);
  cache.set(appKey, { policy, until: Date.now() + cacheMs });
  return policy;
}

/** Stores the policy of `appKey` (validated; throws naming the bad field). */
export async function putAppPolicy(appKey: string, fields: unknown): Promise<AppPolicy> {
  const policy = appPolicySchema.parse(fields);
  await putConfig('app', appKey, policy);
  cache.delete(appKey);
  return { ...policy, appKey };
}

/**
 * Deletes the stored policy of `appKey` (the app then follows `DEFAULT_APP_POLICY`); false when it
 * had none.
 */
export async function deleteAppPolicy(appKey: string): Promise<boolean> {
  const deleted = await deleteConfig('app', appKey);
  cache.delete(appKey);
  return deleted;
}

/**
 * Stores the policy of `appKey` (validated; throws naming the bad field) only if the app has none;
 * false when it has one, which is kept.
 */
export async function createAppPolicy(appKey: string, fields: unknown): Promise<boolean> {
  const created = await createConfig('app', appKey, appPolicySchema.parse(fields));
  if (created) cache.delete(appKey);
  return created;
}

/** Every stored policy. */
export async function listAppPolicies(): Promise<AppPolicy[]> {
  return (await listConfig('app')).map((entry) => ({
    ...appPolicySchema.parse(entry.value),
    appKey: entry.id,
  }));
}

/** `appKey` alone when one is named; otherwise every app with a stored policy (an operator's "all apps"). */
export async function appKeysOr(appKey: string | undefined): Promise<string[]> {
  return appKey ? [appKey] : (await listAppPolicies()).map((p) => p.appKey);
}

/** The policy as it may be shown: the HS256 secret is never printed or logged. */
export function redacted(policy: AppPolicy): Record<string, unknown> {
  return { ...policy, ...(policy.hs256Secret && { hs256Secret: '(set)' }) };
}
