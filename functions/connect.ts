/**
 * `connect` (reference §1.2): admits or refuses the client by its app's policy and token. Admitted,
 * it answers with every field mirrored plus the `restClientConfig` that makes later decisions stick.
 */
import { admitConnect, connectRefusal, connectRefused } from '#shared/admission/connect.ts';
import { decisionHook } from '#shared/http/hook-handler.ts';

export const handler = decisionHook('connect', {
  decide: ({ body, receivedAt }) => admitConnect(body, receivedAt),
  refusal: connectRefusal,
  refused: connectRefused,
});
