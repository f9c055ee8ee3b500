/**
 * A TCP proxy in front of a server (DynamoDB Local) that can be made slow: while `delayMs` is set,
 * every chunk in either direction is passed on that long after it arrived, in order. A DynamoDB
 * that is slow, not down: what a request sent before a deadline does when it lands after it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowProxy {
  /** The endpoint to give the SDK, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Delay of each chunk, each way, in ms; 0 passes everything on at once. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowProxy(target: string): Promise<SlowProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: SlowProxy = { endpoint: '', delayMs: 0, close: async () => undefined };
  /** Passes `from`'s chunks to `to`, each after the delay in force when it arrived, never reordered. */
  const pipe = (from: Socket, to: Socket) => {
    let last = Promise.resolve();
    from.on('data', (chunk) => {
      // Due a fixed delay after it arrived (not after the chunk before it), and never before that one.
      const due = Date.now() + proxy.delayMs;
      last = last
        .then(() => new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()))))
        .then(() => {
          if (!to.destroyed) to.write(chunk);
        });
    });
    from.on('end', () => void last.then(() => to.end()));
  };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
