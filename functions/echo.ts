/**
 * The catch-all: every hook method without a dedicated handler. Answers 200 with the body mirrored,
 * as WCS's EchoApp does (reference §0), and records the call once.
 */
import { digestOf } from '#shared/digest.ts';
import { eventRecorder } from '#shared/events.ts';
import { wcsHook } from '#shared/hook-handler.ts';
import { anyHookBody } from '#shared/schemas.ts';

const recordEvent = eventRecorder();

export const handler = wcsHook({
  spill: true,
  schema: anyHookBody,
  handle: async ({ method, body, rawBody, receivedAt }) => {
    await recordEvent({ method, body, digest: digestOf(rawBody), receivedAt });
    return undefined;
  },
});
