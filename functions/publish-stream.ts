/** `publishStream` (reference §1.3): a publisher asks to publish; decided by grants and one publisher per name. Admitted, the stream is recorded PENDING. */
import { admitStream, streamRefusal, streamRefused } from '#shared/admission/streams.ts';
import { decisionHook } from '#shared/http/hook-handler.ts';

export const handler = decisionHook('publish-stream', {
  decide: ({ body, receivedAt }) => admitStream(body, receivedAt),
  refusal: streamRefusal,
  refused: streamRefused,
});
