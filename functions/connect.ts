/** `connect` (reference §1.2): admits the client's session and records it. Answers with every field mirrored. */
import { wcsHook } from '#shared/hook-handler.ts';
import { connectBody } from '#shared/schemas.ts';
import { recordConnect } from '#shared/sessions.ts';

export const handler = wcsHook({
  method: 'connect',
  schema: connectBody,
  handle: async ({ body, receivedAt }) => {
    await recordConnect(body, receivedAt);
    return undefined;
  },
});
