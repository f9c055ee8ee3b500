/**
 * A plain WebSocket client (`ws`, no STOMP) for the endpoints API: what it received, in order, a
 * way to wait for the next message or one that matches, and how it was closed or refused.
 */
import WebSocket from 'ws';

export interface SocketClient {
  readonly ws: WebSocket;
  /** Every text message received so far. */
  readonly received: string[];
  /** The first received message (from now on, or already received and not yet taken) matching `test`. */
  next(test?: (message: string) => boolean, timeoutMs?: number): Promise<string>;
  send(text: string): void;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** A refused upgrade: the status and body API Gateway (or its local stand-in) answered. */
export class Refused extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, body: string) {
    super(`refused ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

/** Opens `url`; rejects with `Refused` when the upgrade is refused. */
export function openSocket(url: string, headers: Record<string, string> = {}): Promise<SocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const received: string[] = [];
    let taken = 0;
    const waiters = new Set<() => void>();
    let closedResolve: (value: { code: number; reason: string }) => void = () => undefined;
    const closed = new Promise<{ code: number; reason: string }>((r) => {
      closedResolve = r;
    });
    ws.on('message', (data: Buffer) => {
      received.push(data.toString('utf8'));
      for (const wake of waiters) wake();
    });
    ws.on('close', (code, reason) => closedResolve({ code, reason: reason.toString('utf8') }));
    ws.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () =>
        reject(new Refused(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))),
      );
    });
    ws.on('error', reject);
    ws.on('open', () => {
      const seen = new Set<number>();
      resolve({
        ws,
        received,
        send: (text) => ws.send(text),
        closed,
        close: async () => {
          if (ws.readyState !== WebSocket.CLOSED) {
            ws.close(1000, 'bye');
            await closed;
          }
        },
        next: (test = () => true, timeoutMs = 10_000) =>
          new Promise<string>((resolveNext, rejectNext) => {
            const look = () => {
              for (let i = taken; i < received.length; i++) {
                if (seen.has(i)) continue;
                if (test(received[i] as string)) {
                  seen.add(i);
                  while (seen.has(taken)) taken++;
                  waiters.delete(look);
                  clearTimeout(timer);
                  resolveNext(received[i] as string);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(look);
              rejectNext(
                new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(received)}`),
              );
            }, timeoutMs);
            waiters.add(look);
            look();
          }),
      });
    });
  });
}
