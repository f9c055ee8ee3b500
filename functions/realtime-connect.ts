/**
 * WebSocket `$connect` of the realtime API: admits a connection that presents the realtime token
 * (`?token=`), refuses any other with 401 before it is open, and records it.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { openConnection } from '#shared/realtime/connections.ts';
import { isRealtimeToken } from '#shared/realtime/token.ts';

export const handler = async (
  event: APIGatewayProxyWebsocketEventV2 & { queryStringParameters?: Record<string, string> },
): Promise<APIGatewayProxyResultV2> => {
  if (!(await isRealtimeToken(event.queryStringParameters?.token))) {
    return {
      statusCode: 401,
      body: JSON.stringify({ error: 'Unauthorized', message: 'a token is required' }),
    };
  }
  await openConnection(event.requestContext.connectionId, 'realtime-token');
  return { statusCode: 200 };
};
