/**
 * The part of jose that token admission uses, loaded through `import()` (`tokens.ts`): a dynamic
 * import takes a module's whole namespace, so importing the package itself would bundle all of jose
 * (JWE, key generation, ...) into the chunk.
 */
export { createRemoteJWKSet, errors, jwtVerify, SignJWT } from 'jose';
