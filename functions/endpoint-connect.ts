/**
 * WebSocket `$connect` of the endpoints API: a user agent opening `/ws/<endpoint code>` (the
 * CloudFront function in AWS, and the local server, pass the code as `?endpoint=`), with the app's
 * token as `?token=` (or `Authorization: Bearer`). Admitted or refused by
 * `shared/endpoints/lifecycle.ts`; a refusal is the status and a JSON body API Gateway returns.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { openSession } from '#shared/endpoints/lifecycle.ts';
import { managementUrlOf } from '#shared/endpoints/management.ts';

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
  const query = event.queryStringParameters ?? {};
  const bearer = header(event, 'authorization')?.replace(/^Bearer /, '');
  const answer = await openSession({
    connectionId: event.requestContext.connectionId,
    endpointCode: query.endpoint,
    token: query.token ?? bearer,
    origin: header(event, 'origin'),
    via: managementUrlOf(event),
  });
  if (answer.statusCode === 200) return { statusCode: 200 };
  return {
    statusCode: answer.statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: answer.error, message: answer.message }),
  };
};
