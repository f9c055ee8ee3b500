/**
 * What a WebSocket `$connect` event carries besides the connection: the upgrade request's query
 * string and headers (header names in whatever case the client sent them), and the token a client
 * presents, as `?token=` (browsers cannot set headers on a WebSocket) or `Authorization: Bearer`.
 * The realtime API's and the endpoints API's `$connect` read them the same way.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';

export type WebSocketConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
};

/** Header `name` (lower case) of the upgrade request, whatever case it was sent in. */
export function headerOf(event: WebSocketConnectEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** The token presented: `?token=`, else the `Authorization: Bearer` one. */
export function presentedToken(event: WebSocketConnectEvent): string | undefined {
  return event.queryStringParameters?.token ?? headerOf(event, 'authorization')?.replace(/^Bearer /, '');
}
