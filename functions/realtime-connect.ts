/**
 * WebSocket `$connect` of the realtime API: admits a connection that presents the realtime token
 * (`?token=`, or `Authorization: Bearer` from a client that can set headers), refuses any other
 * with 401 before it is open, and records it.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { openConnection } from '#shared/realtime/connections.ts';
import { isRealtimeToken } from '#shared/realtime/token.ts';

/** The `$connect` event also carries the upgrade request's query string and headers. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
};

export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const authorization = event.headers?.Authorization ?? event.headers?.authorization;
  const presented = event.queryStringParameters?.token ?? authorization?.replace(/^Bearer /, '');
  if (!(await isRealtimeToken(presented))) {
    return {
      statusCode: 401,
      body: JSON.stringify({ error: 'Unauthorized', message: 'a token is required (?token=)' }),
    };
  }
  await openConnection(event.requestContext.connectionId, 'realtime-token');
  return { statusCode: 200 };
};
