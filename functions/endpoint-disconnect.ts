/**
 * WebSocket `$disconnect` of the endpoints API: the logic's `error` (a close that was not normal)
 * and `close`, with API Gateway's close code and reason; the connection forgotten.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { endSession } from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';

type DisconnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { disconnectStatusCode?: number; disconnectReason?: string };
};

export const handler = async (event: DisconnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
  await endSession(connectionId, disconnectStatusCode, disconnectReason, managementUrlOf(event));
  return { statusCode: 200 };
};
