/** `DataStatusEvent` (reference §1.4): WCS's ACCEPTED or FAILED for one data message. */
import { recordDataStatus } from '#shared/data-messages.ts';
import { wcsHook } from '#shared/hook-handler.ts';
import { dataStatusEventBody } from '#shared/schemas.ts';

export const handler = wcsHook({
  spill: true,
  method: 'DataStatusEvent',
  schema: dataStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await recordDataStatus(body, receivedAt);
    return undefined;
  },
});
