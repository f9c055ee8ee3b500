/** `OnDataEvent` (reference §1.3): a client sent data; 200 makes WCS report ACCEPTED to it. */
import { recordDataMessage } from '#shared/data-messages.ts';
import { wcsHook } from '#shared/hook-handler.ts';
import { onDataEventBody } from '#shared/schemas.ts';

export const handler = wcsHook({
  method: 'OnDataEvent',
  schema: onDataEventBody,
  handle: async ({ body, receivedAt }) => {
    await recordDataMessage(body, 'ACCEPTED', receivedAt);
    return undefined;
  },
});
