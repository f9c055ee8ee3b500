/**
 * `StreamKeepAliveEvent` (reference §1.4): a live stream's periodic keep-alive. A 403 makes WCS end
 * the stream, which is how a revoked session is cut off within one keep-alive period.
 */
import { admitKeepAlive } from '#shared/admission/keep-alive.ts';
import { decisionHook } from '#shared/http/hook-handler.ts';

export const handler = decisionHook('stream-keep-alive-event', {
  decide: admitKeepAlive,
});
