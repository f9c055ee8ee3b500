/** `StreamKeepAliveEvent` (reference §1.4): a live stream's periodic keep-alive. */
import { wcsHook } from '#shared/hook-handler.ts';
import { streamStatusEventBody } from '#shared/schemas.ts';
import { recordKeepAlive } from '#shared/streams.ts';

export const handler = wcsHook({
  method: 'StreamKeepAliveEvent',
  schema: streamStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await recordKeepAlive(body, body.status, receivedAt);
    return undefined;
  },
});
