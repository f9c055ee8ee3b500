/** `ConnectionStatusEvent` (reference §1.4): the session became ESTABLISHED, FAILED or DISCONNECTED. */

import { wcsHook } from '#shared/hook-handler.ts';
import { connectionStatusEventBody } from '#shared/schemas.ts';
import { connectionStatusChanged } from '#shared/session-ended.ts';

export const handler = wcsHook({
  spill: true,
  method: 'ConnectionStatusEvent',
  schema: connectionStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await connectionStatusChanged(body, receivedAt);
    return undefined;
  },
});
