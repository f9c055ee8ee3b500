import { setting } from '../kernel/config.ts';

/** How long history is kept, in days (`RETENTION_DAYS`). */
export const retentionDays = setting('RETENTION_DAYS');

/** The `expiresAt` (epoch seconds) of an item written at `now`: DynamoDB TTL deletes it after retention. */
export function expiresAtFor(now: Date): number {
  return Math.floor(now.getTime() / 1000) + retentionDays * 86_400;
}
