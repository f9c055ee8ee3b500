/**
 * The local stand-in for API Gateway's WebSocket APIs (`infra/local/websocket-api.ts`), on its own:
 * what it does with a connection while it is being stopped.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { expect, it } from '@jest/globals';
import {
  createWebSocketApi,
  routeUpgrades,
  withinIntegrationTimeout,
} from '../../infra/local/websocket-api.ts';

it('closing the API disconnects a client whose $connect is still running (no half-open socket is left)', async () => {
  // Arrange: a `$connect` that has not answered when the runtime stops.
  let connectStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    connectStarted = resolve;
  });
  const api = await createWebSocketApi('realtime', {
    connect: async () => {
      connectStarted();
      return await new Promise<never>(() => undefined);
    },
    message: async () => ({ statusCode: 200 }),
    disconnect: async () => ({ statusCode: 200 }),
  });
  const server = createServer();
  routeUpgrades(server, { realtime: api });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  let answered = '';
  socket.on('data', (chunk) => {
    answered += chunk.toString();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await started;

  // Act: the runtime stops, as `npm start` does on SIGTERM and the tests do after each file.
  await api.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  // Assert: the client is disconnected (without the fix the socket stays open, the test times out,
  // and the Jest process it runs in is kept alive), and it was never told it was upgraded.
  await closed;
  expect(answered).not.toContain('101');
});

it('gives up on a $connect that does not answer, as API Gateway does after its integration timeout', async () => {
  await expect(withinIntegrationTimeout(new Promise(() => undefined), 50)).rejects.toThrow(
    "no answer in 0.05 s (API Gateway's integration timeout)",
  );
  await expect(withinIntegrationTimeout(Promise.resolve('answered'), 50)).resolves.toBe('answered');
});
