/** `ErrorEvent` (reference §1.4): WCS reports an error to a client; recorded and logged at warn level. */
import { digestOf } from '#shared/digest.ts';
import { eventRecorder } from '#shared/events.ts';
import { wcsHook } from '#shared/hook-handler.ts';
import { logger } from '#shared/logger.ts';
import { anyHookBody } from '#shared/schemas.ts';

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
