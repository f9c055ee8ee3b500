/** `ConnectionStatusEvent` (reference §1.4): the session became ESTABLISHED, FAILED or DISCONNECTED. */

import { wcsHook } from '#shared/http/hook-handler.ts';
import { connectionStatusEventBody } from '#shared/kernel/schemas.ts';
import { connectionStatusChanged } from '#shared/state/session-status.ts';

export const handler = wcsHook({
  spill: true,
  method: 'ConnectionStatusEvent',
  schema: connectionStatusEventBody,
  handle: async ({ body, receivedAt }) => {
    await connectionStatusChanged(body, receivedAt);
    return undefined;
  },
});
