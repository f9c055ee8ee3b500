/**
 * The catch-all: every hook method without a dedicated handler. Answers 200 with the body mirrored,
 * as WCS's EchoApp does (reference §0), and records the call once.
 */

import { wcsHook } from '#shared/http/hook-handler.ts';
import { digestOf } from '#shared/kernel/digest.ts';
import { anyHookBody } from '#shared/kernel/schemas.ts';
import { eventRecorder } from '#shared/state/events.ts';

const recordEvent = eventRecorder();

export const handler = wcsHook({
  spill: true,
  schema: anyHookBody,
  handle: async ({ method, body, rawBody, receivedAt }) => {
    await recordEvent({ method, body, digest: digestOf(rawBody), receivedAt });
    return undefined;
  },
});
