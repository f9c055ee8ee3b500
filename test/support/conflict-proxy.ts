/**
 * An HTTP proxy in front of DynamoDB Local that answers a share of `TransactWriteItems` requests as
 * DynamoDB answers a transaction that collided with another on the same item: 400,
 * `TransactionCanceledException`, every reason `TransactionConflict`. DynamoDB Local runs
 * transactions one at a time and never does; DynamoDB does, under concurrent writes to one item
 * (many viewers joining one stream at its player limit). Fault injection, as killing DynamoDB
 * Local is: the request is not applied, the answer is DynamoDB's documented one.
 */
import { createServer, request, type Server } from 'node:http';

export interface ConflictProxy {
  readonly endpoint: string;
  /** The share of transactions answered with a conflict, 0 to 1. */
  conflictRate: number;
  /**
   * The most conflicts one transaction gets (its retries send the same body): fewer than the
   * retries `transactWrite` makes, so every transaction goes through in the end, as it does when
   * contention is brief. Default 3.
   */
  maxConflictsPerTransaction: number;
  /** Transactions answered with a conflict so far. */
  conflicts: number;
  /** The `X-Amz-Target` of every request so far (`DynamoDB_20120810.Query`, ...), in arrival order. */
  readonly targets: string[];
  close(): Promise<void>;
}

export async function startConflictProxy(target: string): Promise<ConflictProxy> {
  const upstream = new URL(target);
  const proxy: ConflictProxy = {
    endpoint: '',
    conflictRate: 0,
    maxConflictsPerTransaction: 3,
    conflicts: 0,
    targets: [],
    close: async () => undefined,
  };
  /** Conflicts answered so far, by transaction (its request body). */
  const conflictsOf = new Map<string, number>();
  const server: Server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (c: Buffer) => chunks.push(c));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(incoming.headers['x-amz-target'] ?? '');
      proxy.targets.push(target);
      // The same transaction retried: the same items (the SDK may give each try a new token).
      const transaction = target.endsWith('.TransactWriteItems')
        ? JSON.stringify((JSON.parse(body.toString()) as { TransactItems: unknown }).TransactItems)
        : '';
      const conflictsSoFar = conflictsOf.get(transaction) ?? 0;
      if (
        transaction &&
        conflictsSoFar < proxy.maxConflictsPerTransaction &&
        Math.random() < proxy.conflictRate
      ) {
        conflictsOf.set(transaction, conflictsSoFar + 1);
        proxy.conflicts++;
        const items = (JSON.parse(body.toString()) as { TransactItems: unknown[] }).TransactItems.length;
        const reasons = Array.from({ length: items }, () => ({
          Code: 'TransactionConflict',
          Message: 'Transaction is ongoing for the item',
        }));
        const text = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
          CancellationReasons: reasons,
          Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        });
        answer.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(text),
        });
        return answer.end(text);
      }
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: incoming.url,
          method: incoming.method,
          headers: incoming.headers,
        },
        (response) => {
          answer.writeHead(response.statusCode ?? 500, response.headers);
          response.pipe(answer);
        },
      );
      forwarded.on('error', () => answer.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
