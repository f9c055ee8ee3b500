/**
 * WebSocket `$connect` of the realtime API: admits a connection that presents the realtime token
 * (`?token=`, or `Authorization: Bearer` from a client that can set headers) from an allowed origin
 * (`ALLOWED_ORIGINS`: a browser page elsewhere gets 403), refuses any other with 401 before it is
 * open, and records it.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { isRealtimeToken } from '#shared/kernel/operator-token.ts';
import { originAllowed } from '#shared/kernel/origins.ts';
import { openConnection } from '#shared/realtime/connections.ts';

/** The `$connect` event also carries the upgrade request's query string and headers. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
};

const header = (event: ConnectEvent, name: string) => {
  const headers = event.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
};

export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  if (!originAllowed(header(event, 'origin'), header(event, 'host') ?? event.requestContext.domainName)) {
    return {
      statusCode: 403,
      body: JSON.stringify({
        error: 'Forbidden',
        message: 'this origin may not open the realtime API (ALLOWED_ORIGINS)',
      }),
    };
  }
  const authorization = header(event, 'authorization');
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
