/** `StreamStatusEvent` (reference §1.4): a stream is PUBLISHING, PLAYING, UNPUBLISHED, STOPPED or FAILED. */

import { wcsHook } from '#shared/hook-handler.ts';
import { streamStatusEventBody } from '#shared/schemas.ts';
import { streamStatusChanged } from '#shared/stream-ended.ts';

export const handler = wcsHook({
  spill: true,
  method: 'StreamStatusEvent',
  schema: streamStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await streamStatusChanged(body, receivedAt);
    return undefined;
  },
});
