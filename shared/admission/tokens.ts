/**
 * Client tokens: JWTs a client passes in `createSession({custom: {token}})`, verified with `jose`
 * against the app's policy (HS256 with the app's secret, or RS256/ES256 against its JWKS URL).
 *
 * Claims: `sub` the user; `aud` the app (default: the app key); `exp`; `publish` and `play`, the
 * stream-name patterns the user may publish and play (see `grants.ts`); `data`, whether the user
 * may send data; `jti`, the token's id, kept on the session so that one token can be denied.
 */
import { randomUUID } from 'node:crypto';
import type { createRemoteJWKSet, JWTPayload } from 'jose';
import { onFirstUse } from '../kernel/lazy.ts';
import type { AppPolicy } from '../state/apps.ts';
import type { ClientGrants } from '../state/sessions.ts';
import { MAX_GRANT_PATTERN_CHARS, MAX_GRANT_PATTERNS } from './grants.ts';

/**
 * Longest user id (`sub`) a token may name, in UTF-8 bytes: it becomes part of an index key
 * (`openKey`, `<userId>#<sessionId>`), which DynamoDB bounds.
 */
export const MAX_USER_ID_BYTES = 256;

/** A token that does not admit the client; `reason` is safe to return to WCS and to log. */
export class TokenRejectedError extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
    this.reason = reason;
  }
}

/** jose, loaded on first use: most apps admit without tokens (`shared/kernel/lazy.ts`). */
type Jose = typeof import('./jose.ts');
const loadJose = onFirstUse((): Promise<Jose> => import('./jose.ts'));

const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksOf({ createRemoteJWKSet }: Jose, url: string) {
  let jwks = jwksByUrl.get(url);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, timeoutDuration: 2_000 });
    jwksByUrl.set(url, jwks);
  }
  return jwks;
}

const list = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];

/** Why `error` (from jose) rejected a token, in words a WCS operator understands. */
function reasonOf({ errors }: Jose, error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'token is not for this app (audience)';
    if (error.claim === 'iss') return 'token issuer not accepted';
    if (error.claim === 'nbf') return 'token not yet valid';
    return `token claim ${error.claim} invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not accepted';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token key not found in the key set';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
    return 'key set unavailable';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token malformed';
  return 'token invalid';
}

/**
 * Verifies `token` under `policy` (signature, audience, issuer, expiry, a bounded subject); its
 * claims, or `TokenRejectedError` with the reason.
 */
async function verifiedClaims(token: string, policy: AppPolicy): Promise<JWTPayload & { sub: string }> {
  const options = {
    audience: policy.audience ?? policy.appKey,
    ...(policy.issuer && { issuer: policy.issuer }),
  };
  let payload: JWTPayload;
  const jose = await loadJose();
  const { jwtVerify } = jose;
  try {
    if (policy.hs256Secret) {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(policy.hs256Secret), {
        ...options,
        algorithms: ['HS256'],
      }));
    } else if (policy.jwksUrl) {
      ({ payload } = await jwtVerify(token, jwksOf(jose, policy.jwksUrl), {
        ...options,
        algorithms: ['RS256', 'ES256'],
      }));
    } else {
      throw new TokenRejectedError('app has no token key configured');
    }
  } catch (error) {
    if (error instanceof TokenRejectedError) throw error;
    throw new TokenRejectedError(reasonOf(jose, error));
  }
  if (typeof payload.sub !== 'string' || payload.sub === '')
    throw new TokenRejectedError('token has no subject (sub)');
  if (Buffer.byteLength(payload.sub) > MAX_USER_ID_BYTES)
    throw new TokenRejectedError(`token subject (sub) is longer than ${MAX_USER_ID_BYTES} bytes`);
  if (payload.exp === undefined) throw new TokenRejectedError('token has no expiry (exp)');
  // A `jti` is kept on the session and named by a denial's key: bounded as the subject is.
  if (typeof payload.jti === 'string' && Buffer.byteLength(payload.jti) > MAX_USER_ID_BYTES)
    throw new TokenRejectedError(`token id (jti) is longer than ${MAX_USER_ID_BYTES} bytes`);
  return payload as JWTPayload & { sub: string };
}

/**
 * Verifies a user agent's token for a WebSocket endpoint (`shared/endpoints/`): the same rules as
 * `connect`'s; the user and its `roles` claim (a list, or one role as text).
 */
export async function verifyUserToken(
  token: string,
  policy: AppPolicy,
): Promise<{ userId: string; roles: string[] }> {
  const payload = await verifiedClaims(token, policy);
  const roles = list(payload.roles);
  if (roles.length > MAX_GRANT_PATTERNS || roles.some((r) => r.length > MAX_GRANT_PATTERN_CHARS))
    throw new TokenRejectedError(
      `token claim roles: at most ${MAX_GRANT_PATTERNS} roles of at most ${MAX_GRANT_PATTERN_CHARS} characters`,
    );
  return { userId: payload.sub, roles };
}

/** Verifies `token` under `policy`; the grants it carries, or `TokenRejectedError` with the reason. */
export async function verifyClientToken(token: string, policy: AppPolicy): Promise<ClientGrants> {
  const payload = await verifiedClaims(token, policy);
  const publish = list(payload.publish);
  const play = list(payload.play);
  for (const [claim, patterns] of [
    ['publish', publish],
    ['play', play],
  ] as const) {
    if (patterns.length > MAX_GRANT_PATTERNS || patterns.some((p) => p.length > MAX_GRANT_PATTERN_CHARS))
      throw new TokenRejectedError(
        `token claim ${claim}: at most ${MAX_GRANT_PATTERNS} patterns of at most ${MAX_GRANT_PATTERN_CHARS} characters`,
      );
  }
  return {
    userId: payload.sub,
    ...(typeof payload.jti === 'string' && payload.jti !== '' && { tokenId: payload.jti }),
    publish,
    play,
    data: payload.data === true,
  };
}

export interface TokenClaims {
  readonly sub: string;
  readonly aud: string;
  readonly publish?: readonly string[];
  readonly play?: readonly string[];
  readonly data?: boolean;
  /** The roles a WebSocket endpoint may require (`docs/endpoints.md`). */
  readonly roles?: readonly string[];
  readonly iss?: string;
}

/**
 * Issues an HS256 token, for tests and for backends that hand tokens to their clients. Each has its
 * own `jti` (a random UUID), which `deny --token` names.
 */
export async function issueClientToken(
  secret: string,
  claims: TokenClaims,
  ttlSeconds: number,
): Promise<string> {
  const { SignJWT } = await loadJose();
  const { sub, aud, iss, ...grants } = claims;
  const jwt = new SignJWT({ ...grants })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (iss) jwt.setIssuer(iss);
  return jwt.sign(new TextEncoder().encode(secret));
}
