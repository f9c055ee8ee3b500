/** `DataStatusEvent` (reference §1.4): WCS's ACCEPTED or FAILED for one data message. */

import { wcsHook } from '#shared/http/hook-handler.ts';
import { dataStatusEventBody } from '#shared/kernel/schemas.ts';
import { recordDataStatus } from '#shared/state/data-messages.ts';

export const handler = wcsHook({
  spill: true,
  method: 'DataStatusEvent',
  schema: dataStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await recordDataStatus(body, receivedAt);
    return undefined;
  },
});
