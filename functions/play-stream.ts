/** `playStream` (reference §1.3): a player asks to play; decided by grants and the player limit. Admitted, the stream is recorded PENDING. */
import { admitStream, streamRefusal, streamRefused } from '#shared/admission/streams.ts';
import { decisionHook } from '#shared/http/hook-handler.ts';

export const handler = decisionHook('play-stream', {
  decide: ({ body, receivedAt }) => admitStream(body, receivedAt),
  refusal: streamRefusal,
  refused: streamRefused,
});
