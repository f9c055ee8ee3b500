/**
 * The realtime fan-out (`shared/realtime/fanout.ts`): changes of the tables pushed to STOMP
 * subscribers through the WebSocket management API, as the stream consumer does in AWS. Subscribers
 * at 10, 100 and 1,000 on `/topic/sessions` (real items in the connections table), a batch of
 * session changes (10,000 messages at each size), each post a real `PostToConnection` through the SDK to a management API on
 * loopback (an HTTP server answering 200). The baseline, run interleaved in the same process, is how
 * it pushed before: each change's message to each subscriber in turn, one post per message, from the
 * same subscriber reads and the same frames.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { configureInProcess, fmt, median, progress, table } from './support.ts';

const SUBSCRIBERS = [10, 100, 1000];
/** Changes per batch: 10,000 messages per run at each size (100 changes to 100 subscribers). */
const changesFor = (subscribers: number) => Math.max(10, Math.round(10_000 / subscribers));
const ROUNDS = Number(process.env.REALTIME_FANOUT_ROUNDS ?? 2);

export async function realtimeFanOut(endpoint: string) {
  configureInProcess(endpoint);
  let posts = 0;
  const management = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      posts++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', resolve));
  const via = `http://127.0.0.1:${(management.address() as { port: number }).port}`;
  process.env.REALTIME_ENDPOINT = via;
  const { openConnection } = await import('../shared/realtime/connections.ts');
  const { handleMessage } = await import('../shared/realtime/stomp-connection.ts');
  const { deliveriesFor, fanOut } = await import('../shared/realtime/fanout.ts');
  const { subscribersOf, subscriptionKeyOf } = await import('../shared/realtime/connections.ts');
  const { encodeFrame } = await import('../shared/realtime/stomp/codec.ts');
  /** The baseline: one post per change and subscriber, one after another. */
  const oneByOne = async (batch: ReturnType<typeof changesOf>) => {
    let sent = 0;
    const read = new Map<string, Awaited<ReturnType<typeof subscribersOf>>>();
    for (const change of batch)
      for (const { destination, body } of deliveriesFor(change)) {
        const key = subscriptionKeyOf(destination);
        const found = read.get(key) ?? (await subscribersOf(key));
        read.set(key, found);
        for (const { connectionId, subscriptionId } of found) {
          const frame = encodeFrame(
            'MESSAGE',
            { destination, subscription: subscriptionId, 'message-id': randomUUID() },
            JSON.stringify(body),
          );
          if ((await postToConnection(connectionId, frame, via)) === 'sent') sent++;
        }
      }
    return sent;
  };
  const { postToConnection } = await import('../shared/realtime/management-api.ts');
  const { mapWithConcurrency } = await import('../shared/kernel/concurrency.ts');
  const { setting } = await import('../shared/kernel/config.ts');
  const concurrency = setting('FANOUT_CONCURRENCY');

  const changesOf = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      table: 'sessions' as const,
      newImage: { sessionId: `s-${i}`, status: 'ESTABLISHED', appKey: 'bench' },
    }));
  const rows: (string | number)[][] = [];
  let subscribed = 0;
  for (const count of SUBSCRIBERS) {
    progress(`realtime fan-out: ${count} subscribers...`);
    // Subscribers accumulate: those of the smaller runs stay, so each run has exactly `count`.
    const ids = Array.from({ length: count - subscribed }, () => `bench-${randomUUID()}`);
    await mapWithConcurrency(ids, 16, async (id) => {
      await openConnection(id, 'bench');
      await handleMessage(id, 'CONNECT\naccept-version:1.2\nhost:h\n\n\0');
      await handleMessage(id, 'SUBSCRIBE\nid:s\ndestination:/topic/sessions\n\n\0');
    });
    subscribed = count;
    const CHANGES = changesFor(count);
    const timed = async (how: 'one by one' | 'fan-out') => {
      posts = 0;
      const started = performance.now();
      let delivered: number;
      if (how === 'one by one') delivered = await oneByOne(changesOf(CHANGES));
      else {
        const result = await fanOut(changesOf(CHANGES), (id, text) => postToConnection(id, text, via));
        if (result.failedAt !== undefined) throw new Error(`fan-out failed: ${String(result.error)}`);
        delivered = result.delivered;
      }
      return { seconds: (performance.now() - started) / 1000, delivered, posts };
    };
    // The same batch for both, interleaved, the median of the rounds.
    const sequential: number[] = [];
    const parallel: number[] = [];
    let delivered = 0;
    let postsMade = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const one = await timed('one by one');
      const many = await timed('fan-out');
      if (one.delivered !== many.delivered)
        throw new Error(`delivered ${one.delivered} vs ${many.delivered}`);
      sequential.push(one.seconds);
      parallel.push(many.seconds);
      delivered = many.delivered;
      postsMade = many.posts;
    }
    const [s, p] = [median(sequential), median(parallel)];
    rows.push([
      count,
      CHANGES,
      delivered,
      postsMade,
      fmt(delivered / s, 0),
      fmt(delivered / p, 0),
      fmt(s / p, 2),
    ]);
  }
  await new Promise<void>((resolve) => management.close(() => resolve()));
  table(
    'Realtime fan-out: table changes to STOMP subscribers (management API on loopback)',
    [
      'subscribers',
      'changes',
      'messages delivered',
      'posts by the fan-out (baseline: one per message)',
      'messages/s, one post per message, in turn (baseline)',
      `messages/s, fan-out (${concurrency} subscribers at a time)`,
      'ratio',
    ],
    rows,
    [
      `Each post is a PostToConnection through the SDK to an HTTP server on loopback that answers at once, so both columns are bound by this process's CPU, not by a network: in AWS each post also waits a round trip (a few ms in the Region), which the baseline pays once per message in turn, and the fan-out once per subscriber and batch, ${concurrency} subscribers at a time. Both read the subscribers once per batch (one Query per destination). Medians of ${ROUNDS} interleaved rounds.`,
    ],
  );
}
