/** `unPublishStream` (reference §1.3): a publisher asks to stop. The end itself arrives as a StreamStatusEvent. */
import { wcsHook } from '#shared/http/hook-handler.ts';
import { streamEventBody } from '#shared/kernel/schemas.ts';
import { recordStopRequest } from '#shared/state/streams.ts';

export const handler = wcsHook({
  spill: true,
  method: 'unPublishStream',
  schema: streamEventBody,
  handle: async ({ body, receivedAt }) => {
    await recordStopRequest(body, receivedAt);
    return undefined;
  },
});
