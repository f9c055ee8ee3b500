/**
 * WebSocket `$connect` of the realtime API: admits a connection that presents the realtime token
 * (`?token=`, or `Authorization: Bearer` from a client that can set headers) from an allowed origin
 * (`ALLOWED_ORIGINS`: a browser page elsewhere gets 403), refuses any other with 401 before it is
 * open, and records it.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { headerOf, presentedToken, type WebSocketConnectEvent } from '#shared/http/websocket-connect.ts';
import { isRealtimeToken } from '#shared/kernel/operator-token.ts';
import { originAllowed } from '#shared/kernel/origins.ts';
import { openConnection } from '#shared/realtime/connections.ts';

export const handler = async (event: WebSocketConnectEvent): Promise<APIGatewayProxyResultV2> => {
  if (!originAllowed(headerOf(event, 'origin'), headerOf(event, 'host') ?? event.requestContext.domainName)) {
    return {
      statusCode: 403,
      body: JSON.stringify({
        error: 'Forbidden',
        message: 'this origin may not open the realtime API (ALLOWED_ORIGINS)',
      }),
    };
  }
  if (!(await isRealtimeToken(presentedToken(event)))) {
    return {
      statusCode: 401,
      body: JSON.stringify({ error: 'Unauthorized', message: 'a token is required (?token=)' }),
    };
  }
  await openConnection(event.requestContext.connectionId, 'realtime-token');
  return { statusCode: 200 };
};
