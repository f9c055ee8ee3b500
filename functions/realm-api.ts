/**
 * `POST /api/<realm>`: the realms of the monitoring API over REST (WCS OAM's, and session/list,
 * session/history), answering as WCS OAM does (reference §5.2): the request body is the realm's
 * payload, the answer `{status, reason, payload}` with that status. The caller presents the
 * monitoring API's token (`Authorization: Bearer`), in AWS the realtime token.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { apiHandler } from '#shared/http/api-handler.ts';
import { handleRealm } from '#shared/realtime/realms.ts';

export const handler = apiHandler({
  // OAM clients and browsers cannot sign requests: the monitoring API's token, as over STOMP.
  auth: 'token',
  // Every answer in OAM's shape, its errors (401, 413, 415, malformed JSON, 500) included.
  errors: 'oam',
  schema: z.record(z.string(), z.unknown()),
  handle: async (payload, event: APIGatewayProxyEventV2) => {
    const realm = event.rawPath;
    const reply = await handleRealm({ requestId: '', realm, payload });
    return { statusCode: reply.status, body: reply };
  },
});
