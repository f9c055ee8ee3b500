/**
 * Sends to API Gateway WebSocket connections (the `@connections` management API). A connection
 * that no longer exists answers 410 Gone: it is reported `gone`, so its items are removed.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { setting } from '../kernel/config.ts';

/** One client per endpoint (a function talks to one stage; the local runtime to itself). */
const clients = new Map<string, ApiGatewayManagementApiClient>();

function managementApi(endpoint = setting('REALTIME_ENDPOINT')): ApiGatewayManagementApiClient {
  if (!endpoint) throw new Error('REALTIME_ENDPOINT (the WebSocket API stage URL) is not set');
  let client = clients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({
      endpoint,
      // A post that hangs must not hold the fan-out (or a reply) until the function times out.
      requestHandler: { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true },
    });
    clients.set(endpoint, client);
  }
  return client;
}

/** Sends `text` on `connectionId`; `gone` when API Gateway no longer has the connection. */
export async function postToConnection(
  connectionId: string,
  text: string,
  endpoint?: string,
): Promise<'sent' | 'gone'> {
  try {
    await managementApi(endpoint).send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(text) }),
    );
    return 'sent';
  } catch (error) {
    if (error instanceof GoneException || (error as { name?: string }).name === 'GoneException')
      return 'gone';
    throw error;
  }
}

/** Closes `connectionId` (after an ERROR frame, or DISCONNECT). */
export async function closeConnection(connectionId: string, endpoint?: string): Promise<void> {
  try {
    await managementApi(endpoint).send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!(error instanceof GoneException || (error as { name?: string }).name === 'GoneException'))
      throw error;
  }
}
