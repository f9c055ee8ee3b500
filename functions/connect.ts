/**
 * `connect` (reference §1.2): admits or refuses the client by its app's policy and token. Admitted,
 * it answers with every field mirrored plus the `restClientConfig` that makes later decisions stick.
 */
import { admitConnect, connectRefusal } from '#shared/admission/connect.ts';
import { wcsHook } from '#shared/http/hook-handler.ts';
import { connectBody } from '#shared/kernel/schemas.ts';

export const handler = wcsHook({
  method: 'connect',
  decision: true,
  refusal: connectRefusal,
  schema: connectBody,
  handle: ({ body, receivedAt }) => admitConnect(body, receivedAt),
});
