/**
 * The realtime API, locally: STOMP over WebSocket at `ws://localhost:PORT/ws`, with the same
 * handler code as API Gateway's WebSocket API, and the same fan-out driven by tailing DynamoDB
 * Local's streams. A connection needs the operator token (`API_TOKEN`), as `?token=` (browsers
 * cannot set headers on a WebSocket) or `Authorization: Bearer`.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

export interface RealtimeServer {
  /** Pushes `text` to a connection of this server; `gone` if it has none by that id. */
  push(connectionId: string, text: string): Promise<'sent' | 'gone'>;
  close(): Promise<void>;
}

/** Serves `/ws` on `server`'s upgrades. */
export async function attachRealtime(server: Server): Promise<RealtimeServer> {
  const { StompDecoder } = await import('#shared/stomp/codec.ts');
  const { handleFrames } = await import('#shared/realtime/stomp-connection.ts');
  const { openConnection, removeConnection } = await import('#shared/realtime/connections.ts');
  const { logger } = await import('#shared/logger.ts');
  const { isRealtimeToken } = await import('#shared/realtime/token.ts');
  const sockets = new Map<string, WebSocket>();
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const presented = url.searchParams.get('token') ?? request.headers.authorization?.replace(/^Bearer /, '');
    void isRealtimeToken(presented).then((admitted) => {
      if (!admitted) {
        socket.end(
          'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{"error":"Unauthorized","message":"a token is required (API_TOKEN)"}',
        );
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
    });
  });

  wss.on('connection', (ws: WebSocket) => {
    const connectionId = randomUUID();
    const decoder = new StompDecoder();
    let heartbeat: NodeJS.Timeout | undefined;
    sockets.set(connectionId, ws);
    // Listeners first (a client sends CONNECT at once); the connection is recorded before any frame is handled.
    let queue: Promise<unknown> = openConnection(connectionId, 'api-token');
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // Frames are handled in arrival order, one message after the other.
      queue = queue.then(async () => {
        try {
          const frames = decoder.push(isBinary ? new Uint8Array(data).buffer : data.toString('utf8'));
          if (frames.length === 0) return;
          const { replies, close, state } = await handleFrames(connectionId, frames);
          for (const reply of replies) ws.send(reply);
          if (close) ws.close();
          else if (!heartbeat && state.heartbeat.sendEveryMs > 0) {
            heartbeat = setInterval(() => ws.send('\n'), state.heartbeat.sendEveryMs);
          }
        } catch (error) {
          logger.error('realtime frame failed', error as Error);
          ws.close(1011);
        }
      });
    });
    ws.on('close', () => {
      clearInterval(heartbeat);
      sockets.delete(connectionId);
      void queue.then(() => removeConnection(connectionId)).catch(() => undefined);
    });
  });

  return {
    push: async (connectionId, text) => {
      const ws = sockets.get(connectionId);
      if (!ws || ws.readyState !== ws.OPEN) return 'gone';
      ws.send(text);
      return 'sent';
    },
    close: async () => {
      for (const ws of sockets.values()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
