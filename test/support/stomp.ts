/**
 * `@stomp/stompjs` as the tests use it against the local realtime API: a client connected over `ws`
 * (no reconnection, no heart-beats), and subscriptions confirmed by the server's receipt.
 */
import { randomUUID } from 'node:crypto';
import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';

/** A STOMP client connected to `url` (`ws://.../ws?token=...`); rejects on an ERROR frame or a socket error. */
export async function connectStomp(url: string): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(url),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
    client.onWebSocketError = () => reject(new Error('websocket error'));
    client.activate();
  });
  return client;
}

/** Subscribes, waiting for the server's receipt so the subscription is in place before hooks are sent. */
export async function subscribe(client: Client, destination: string): Promise<IMessage[]> {
  const received: IMessage[] = [];
  const receipt = randomUUID();
  const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, (message) => received.push(message), { receipt });
  await done;
  return received;
}
