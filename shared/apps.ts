/**
 * Per-app admission policy: who may connect, publish, play and send data in one WCS app
 * (`appKey`). Kept in the configuration store (`config-store.ts`, kind `app`), managed with
 * `npm run cli -- apps put|get|list`, cached
 * in each function for `POLICY_CACHE_SECONDS` (default 10) so a decision rarely waits on a read.
 * An app with no policy follows `DEFAULT_APP_POLICY`. `docs/policy.md` explains the model.
 */
import './zod-locale.ts';
import * as z from 'zod/mini';
import { integerEnv } from './config.ts';
import { getConfig, listConfig, putConfig } from './config-store.ts';

/** Fields of a policy; every one but `admission` has a default. */
export const appPolicyFields = z.object({
  /** `open`: every client is admitted (as EchoApp); `token`: a valid token is required; `closed`: nobody. */
  admission: z._default(z.enum(['open', 'token', 'closed']), 'open'),
  /** Where the token is in the `connect` body, as a dotted path. */
  tokenPath: z._default(z.string().check(z.minLength(1)), 'custom.token'),
  /** HS256 secret the app's tokens are signed with (32 characters or more). */
  hs256Secret: z.optional(z.string().check(z.minLength(32))),
  /** JWKS URL for RS256/ES256 tokens; the key set is cached. */
  jwksUrl: z.optional(z.url()),
  /** Required `aud` of the tokens. Default: the app key. */
  audience: z.optional(z.string().check(z.minLength(1))),
  /** Required `iss` of the tokens, if any. */
  issuer: z.optional(z.string().check(z.minLength(1))),
  /** With tokens, publishing needs a `publish` pattern matching the stream name. */
  publishRequiresGrant: z._default(z.boolean(), true),
  /** With tokens, playing needs a `play` pattern matching the stream name. */
  playRequiresGrant: z._default(z.boolean(), true),
  /** At most one publisher per stream name at a time. */
  singlePublisher: z._default(z.boolean(), false),
  /** At most this many players per stream name at a time. Unset: no limit. */
  maxPlayersPerStream: z.optional(z.int().check(z.positive())),
  /** Every publication is recorded (WCS `record` is overwritten to true). */
  forceRecord: z._default(z.boolean(), false),
  /** Largest `OnDataEvent` payload accepted, in bytes (as JSON text). */
  dataMaxBytes: z._default(z.int().check(z.positive()), 65_536),
  /** A client may send data to another user (`{"to": "<user>"}`), relayed by the sender. */
  allowRelay: z._default(z.boolean(), false),
});

export const appPolicySchema = appPolicyFields.check(
  z.superRefine((policy, context) => {
    if (policy.admission === 'token' && !policy.hs256Secret && !policy.jwksUrl) {
      context.addIssue({
        code: 'custom',
        message: 'token admission needs hs256Secret or jwksUrl',
        path: ['admission'],
      });
    }
  }),
);

export type AppPolicy = z.infer<typeof appPolicyFields> & {
  readonly appKey: string;
  readonly isDefault?: boolean;
};

const cacheMs = integerEnv('POLICY_CACHE_SECONDS', 10) * 1000;

function defaultPolicy(appKey: string): AppPolicy {
  const raw = process.env.DEFAULT_APP_POLICY;
  let configured: unknown = {};
  if (raw) {
    try {
      configured = JSON.parse(raw);
    } catch {
      // A bare word is the admission mode: DEFAULT_APP_POLICY=closed.
      configured = { admission: raw };
    }
  }
  return { ...appPolicySchema.parse(configured), appKey, isDefault: true };
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
