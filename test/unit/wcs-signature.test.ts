import { describe, expect, it } from '@jest/globals';
import { signWcsBody, verifyWcsSignature } from '../../shared/http/middleware/wcs-signature.ts';

describe('verifyWcsSignature', () => {
  const body = Buffer.from('{"nodeId":"n@1.2.3.4","appKey":"defaultApp","sessionId":"s"}');

  it('accepts the HMAC-MD5 of the body under the secret, as WCS computes it (reference §0.2)', () => {
    // Computed independently: printf '%s' "$body" | openssl dgst -md5 -hmac 1234567890
    expect(signWcsBody(body, '1234567890')).toBe('WCS 58175238ee62d1081b137d3fb347635b');
    expect(verifyWcsSignature(body, signWcsBody(body, '1234567890'), ['1234567890'])).toBe(true);
  });

  it('accepts a signature under any of several secrets, for rotation', () => {
    expect(verifyWcsSignature(body, signWcsBody(body, 'old'), ['new', 'old'])).toBe(true);
  });

  it('accepts upper-case hex', () => {
    const signature = signWcsBody(body, 'k');
    expect(verifyWcsSignature(body, `WCS ${signature.slice(4).toUpperCase()}`, ['k'])).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', `Bearer ${signWcsBody(body, 'k').slice(4)}`],
    ['a truncated digest', signWcsBody(body, 'k').slice(0, -2)],
    ['an empty digest', 'WCS '],
    ['another secret', signWcsBody(body, 'other')],
  ])('refuses %s', (_case, authorization) => {
    expect(verifyWcsSignature(body, authorization, ['k'])).toBe(false);
  });

  it('refuses a signature of a different body', () => {
    expect(verifyWcsSignature(Buffer.from(`${body} `), signWcsBody(body, 'k'), ['k'])).toBe(false);
  });
});
