/** `ErrorEvent` (reference §1.4): WCS reports an error to a client; recorded and logged at warn level. */

import { wcsHook } from '#shared/http/hook-handler.ts';
import { digestOf } from '#shared/kernel/digest.ts';
import { logger } from '#shared/kernel/logger.ts';
import { anyHookBody } from '#shared/kernel/schemas.ts';
import { eventRecorder } from '#shared/state/events.ts';

const recordEvent = eventRecorder();

export const handler = wcsHook({
  spill: true,
  method: 'ErrorEvent',
  schema: anyHookBody,
  handle: async ({ method, body, rawBody, receivedAt }) => {
    logger.warn('WCS reported an error', { info: body.info });
    await recordEvent({ method, body, digest: digestOf(rawBody), receivedAt });
    return undefined;
  },
});
