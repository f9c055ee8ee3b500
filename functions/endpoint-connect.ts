/**
 * WebSocket `$connect` of the endpoints API: a user agent opening `/ws/<endpoint code>` (the
 * CloudFront function in AWS, and the local server, pass the code as `?endpoint=`), with the app's
 * token as `?token=` (or `Authorization: Bearer`). Admitted or refused by
 * `shared/endpoints/lifecycle.ts`; a refusal is the status and a JSON body API Gateway returns.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { openSession } from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';
import { headerOf, presentedToken, type WebSocketConnectEvent } from '#shared/http/websocket-connect.ts';

export const handler = async (event: WebSocketConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const answer = await openSession({
    connectionId: event.requestContext.connectionId,
    endpointCode: event.queryStringParameters?.endpoint,
    token: presentedToken(event),
    origin: headerOf(event, 'origin'),
    query: event.queryStringParameters ?? {},
    headers: event.headers ?? {},
    via: managementUrlOf(event),
  });
  if (answer.statusCode === 200) return { statusCode: 200 };
  return {
    statusCode: answer.statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: answer.error, message: answer.message }),
  };
};
