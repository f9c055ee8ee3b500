/**
 * WebSocket `$default` of the realtime API: the STOMP frames of one message, handled by the same
 * code as the local server (`shared/realtime/stomp-connection.ts`); replies posted back through the
 * management API. A Lambda function sends no timed heart-beats, so it negotiates none: the client's
 * heart-beats keep the connection alive. A frame is expected whole in one WebSocket message here.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { closeConnection, postToConnection } from '#shared/realtime/management-api.ts';
import { handleFrames } from '#shared/realtime/stomp-connection.ts';
import { StompDecoder } from '#shared/stomp/codec.ts';

export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, domainName, stage } = event.requestContext;
  const endpoint = process.env.REALTIME_ENDPOINT ?? `https://${domainName}/${stage}`;
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const frames = new StompDecoder().push(body);
  const { replies, close } = await handleFrames(connectionId, frames, { canSendHeartbeats: false });
  for (const reply of replies) await postToConnection(connectionId, reply, endpoint);
  if (close) await closeConnection(connectionId, endpoint);
  return { statusCode: 200 };
};
