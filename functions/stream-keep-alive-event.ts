/**
 * `StreamKeepAliveEvent` (reference §1.4): a live stream's periodic keep-alive. A 403 makes WCS end
 * the stream, which is how a revoked session is cut off within one keep-alive period.
 */
import { admitKeepAlive } from '#shared/admission/keep-alive.ts';
import { wcsHook } from '#shared/hook-handler.ts';
import { streamStatusEventBody } from '#shared/schemas.ts';

export const handler = wcsHook({
  method: 'StreamKeepAliveEvent',
  decision: true,
  schema: streamStatusEventBody,
  handle: ({ body, receivedAt }) => admitKeepAlive(body, receivedAt),
});
