/**
 * WebSocket `$default` of the realtime API: one WebSocket message, handled by
 * `shared/realtime/stomp-connection.ts` (frames split across messages are completed from the bytes
 * stored with the connection); replies posted back through the management API. A Lambda function
 * sends no timed heart-beats, so it negotiates none: the client's own keep the connection alive.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { setting } from '#shared/kernel/config.ts';
import { closeConnection, postToConnection } from '#shared/realtime/management-api.ts';
import { handleMessage } from '#shared/realtime/stomp-connection.ts';

export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, domainName, stage } = event.requestContext;
  const endpoint = setting('REALTIME_ENDPOINT') ?? `https://${domainName}/${stage}`;
  // A binary WebSocket message arrives base64-encoded; its bytes are decoded as they are.
  const message = event.isBase64Encoded
    ? new Uint8Array(Buffer.from(event.body ?? '', 'base64'))
    : (event.body ?? '');
  const { replies, close } = await handleMessage(connectionId, message);
  for (const reply of replies) await postToConnection(connectionId, reply, endpoint);
  if (close) await closeConnection(connectionId, endpoint);
  return { statusCode: 200 };
};
