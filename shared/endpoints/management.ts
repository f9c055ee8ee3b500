/**
 * Where the endpoint functions post to connections: the endpoints API's management endpoint
 * (`ENDPOINTS_ENDPOINT`, which the stack and the local runtime set), or else the stage the event
 * came through.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { setting } from '../kernel/config.ts';

export function managementUrlOf(event?: Pick<APIGatewayProxyWebsocketEventV2, 'requestContext'>): string {
  // Read each time: the local runtime sets it once its management API listens, after the functions load.
  const configured = setting('ENDPOINTS_ENDPOINT');
  if (configured) return configured;
  if (event) return `https://${event.requestContext.domainName}/${event.requestContext.stage}`;
  throw new Error('ENDPOINTS_ENDPOINT (the endpoints WebSocket API stage URL) is not set');
}
