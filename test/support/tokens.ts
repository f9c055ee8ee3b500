/** Test tokens and a JWKS endpoint on loopback, for RS256/ES256 apps. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const HS256_SECRET = 'a-test-secret-that-is-long-enough-0123456789';

export interface JwksServer {
  readonly url: string;
  sign(
    claims: Record<string, unknown>,
    options: { sub: string; aud: string; ttlSeconds?: number },
  ): Promise<string>;
  close(): Promise<void>;
}

/** An ES256 key pair whose public half is served as a JWKS at `url`. */
export async function startJwksServer(): Promise<JwksServer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    sign: (claims, { sub, aud, ttlSeconds = 300 }) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setSubject(sub)
        .setAudience(aud)
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
