import { createHash } from 'node:crypto';

/**
 * The digest of a raw hook body: the first 32 hex digits of its SHA-256. A retry of the same call
 * has the same digest, which is how the `events` table stores it once.
 */
export function digestOf(rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex').slice(0, 32);
}
