/** `publishStream` (reference §1.3): a publisher asks to publish; the stream is recorded PENDING. */
import { wcsHook } from '#shared/hook-handler.ts';
import { streamBody } from '#shared/schemas.ts';
import { recordStreamStatus } from '#shared/streams.ts';

export const handler = wcsHook({
  method: 'publishStream',
  schema: streamBody,
  handle: async ({ body, receivedAt }) => {
    await recordStreamStatus(body, body.status ?? 'PENDING', receivedAt);
    return undefined;
  },
});
