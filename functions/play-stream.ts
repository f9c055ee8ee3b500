/** `playStream` (reference §1.3): a player asks to play; decided by grants and the player limit. Admitted, the stream is recorded PENDING. */
import { admitStream, streamRefusal } from '#shared/admission/streams.ts';
import { wcsHook } from '#shared/http/hook-handler.ts';
import { streamBody } from '#shared/kernel/schemas.ts';

export const handler = wcsHook({
  method: 'playStream',
  decision: true,
  refusal: streamRefusal,
  schema: streamBody,
  handle: ({ body, receivedAt }) => admitStream(body, receivedAt),
});
