/** `StreamStatusEvent` (reference §1.4): a stream is PUBLISHING, PLAYING, UNPUBLISHED, STOPPED or FAILED. */

import { wcsHook } from '#shared/http/hook-handler.ts';
import { streamStatusEventBody } from '#shared/kernel/schemas.ts';
import { streamStatusChanged } from '#shared/state/stream-status.ts';

export const handler = wcsHook({
  spill: true,
  method: 'StreamStatusEvent',
  schema: streamStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await streamStatusChanged(body, receivedAt);
    return undefined;
  },
});
