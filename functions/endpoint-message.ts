/** WebSocket `$default` of the endpoints API: one message of a user agent (`shared/endpoints/lifecycle.ts`). */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { handleSessionMessage } from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';

export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  // A binary message arrives base64-encoded: its bytes are taken as UTF-8 text (meveo's messages are text).
  const message = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  await handleSessionMessage(event.requestContext.connectionId, message, managementUrlOf(event));
  return { statusCode: 200 };
};
