/**
 * The shape of an app policy, and the default policy's parsing: pure rules, no table, so that the
 * CDK app can check a policy given at synthesis with the same schema the functions apply.
 * `docs/policy.md` explains the model.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';

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

/**
 * The policy of apps without one, from `DEFAULT_APP_POLICY`: `open` (unset), a bare admission
 * (`open`, `token`, `closed`), or a policy as JSON. Anything else throws, naming the problem: a
 * function (or `npm start`, or the CDK app) with a policy it cannot honour must not start.
 */
export function parseDefaultPolicy(raw: string | undefined): z.infer<typeof appPolicyFields> {
  if (raw === undefined || raw.trim() === '') return appPolicySchema.parse({});
  const text = raw.trim();
  let configured: unknown;
  if (/^(open|token|closed)$/.test(text)) configured = { admission: text };
  else {
    try {
      configured = JSON.parse(text);
    } catch (error) {
      throw new Error(
        `DEFAULT_APP_POLICY must be open, token, closed or a policy as JSON; it is not JSON: ${(error as Error).message}`,
      );
    }
  }
  const result = appPolicySchema.safeParse(configured);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`);
    throw new Error(`DEFAULT_APP_POLICY is not a valid policy: ${problems.join('; ')}`);
  }
  return result.data;
}
