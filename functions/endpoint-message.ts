/**
 * WebSocket `$default` of the endpoints API: one message of a user agent (`shared/endpoints/lifecycle.ts`).
 * Also invoked by `$connect` (asynchronously, `ENDPOINT_DELIVERY_FUNCTION`) with `{deliverKept}`:
 * the messages kept for a user who was offline, delivered once its connection is open
 * (`shared/endpoints/offline-messages.ts`).
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { handleSessionMessage } from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';
import { deliverKeptMessages, type KeptDelivery } from '#shared/endpoints/offline-messages.ts';

export const handler = async (
  event: APIGatewayProxyWebsocketEventV2 | { deliverKept: KeptDelivery },
): Promise<APIGatewayProxyResultV2> => {
  if ('deliverKept' in event) {
    await deliverKeptMessages(event.deliverKept);
    return { statusCode: 200 };
  }
  // A binary message arrives base64-encoded: its bytes are taken as UTF-8 text (meveo's messages are text).
  const message = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  await handleSessionMessage(event.requestContext.connectionId, message, managementUrlOf(event));
  return { statusCode: 200 };
};
