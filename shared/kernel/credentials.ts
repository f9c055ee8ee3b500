/**
 * Credentials are not history: what a hook body carries to prove who the client is must not be
 * stored with the record of it. `connect` knows the app's token path and removes exactly that
 * (`sessions.ts`); every other hook that stores a body or its `custom` (a ConnectionStatusEvent or a
 * catch-all hook of a session whose `connect` this backend never saw) removes, without reading the
 * app's policy (the configuration holds secrets those functions are not granted), every field that
 * names a credential: under `custom`, any key that says token, secret, password, passwd, jwt,
 * credential or auth, at any depth; at the top, `sipPassword` and `authToken`. An app whose token
 * path ends in another name should name its token field so (docs/policy.md).
 */

const CREDENTIAL_KEY = /token|secret|passw(or)?d|jwt|credential|auth/i;
const TOP_LEVEL_CREDENTIALS = ['sipPassword', 'authToken'];

function withoutCredentialKeys(value: unknown, depth = 0): unknown {
  if (depth > 100 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutCredentialKeys(v, depth + 1));
  const kept: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!CREDENTIAL_KEY.test(key)) kept[key] = withoutCredentialKeys(v, depth + 1);
  }
  return kept;
}

/** A client's `custom` object without any credential in it. */
export function customWithoutCredentials(custom: unknown): unknown {
  return withoutCredentialKeys(custom);
}

/** A hook body without its credentials (`custom`'s, and the top-level ones); `body` itself is left as it was. */
export function bodyWithoutCredentials(body: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (TOP_LEVEL_CREDENTIALS.includes(key)) continue;
    kept[key] = key === 'custom' ? customWithoutCredentials(value) : value;
  }
  return kept;
}
