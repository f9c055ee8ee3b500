import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The digest of a raw hook body: the first 32 hex digits of its SHA-256. A retry of the same call
 * has the same digest, which is how the `events` table stores it once.
 */
export function digestOf(rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex').slice(0, 32);
}

/**
 * Whether two secrets (a token, a signature) are equal, in time that does not depend on where
 * they differ. timingSafeEqual needs equal lengths, so a wrong length is a plain mismatch: the
 * length of a token or of an MD5 hex is not the secret.
 */
export function safeEqual(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
