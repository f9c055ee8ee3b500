/** `publishStream` (reference §1.3): a publisher asks to publish; decided by grants and one publisher per name. Admitted, the stream is recorded PENDING. */
import { admitStream, streamRefusal } from '#shared/admission/streams.ts';
import { wcsHook } from '#shared/http/hook-handler.ts';
import { streamBody } from '#shared/kernel/schemas.ts';

export const handler = wcsHook({
  method: 'publishStream',
  decision: true,
  refusal: streamRefusal,
  schema: streamBody,
  handle: ({ body, receivedAt }) => admitStream(body, receivedAt),
});
