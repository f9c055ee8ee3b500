/**
 * `StreamKeepAliveEvent` (reference §1.4): a live stream's periodic keep-alive. A 403 makes WCS end
 * the stream, which is how a revoked session is cut off within one keep-alive period.
 */
import { admitKeepAlive } from '#shared/admission/keep-alive.ts';
import { wcsHook } from '#shared/http/hook-handler.ts';
import { streamStatusEventBody } from '#shared/kernel/schemas.ts';

export const handler = wcsHook({
  method: 'StreamKeepAliveEvent',
  decision: true,
  // A 403, or any answer but 200, ends the stream (restOnError FAIL): a keep-alive WCS sent in a
  // shape we cannot identify is kept as a raw event and answered 200, never refused for its shape.
  invalidBody: 'record',
  schema: streamStatusEventBody,
  handle: ({ body, receivedAt }) => admitKeepAlive(body, receivedAt),
});
