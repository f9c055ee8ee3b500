/**
 * Delivering the messages kept for a user who was offline (`keepOffline`, `docs/endpoints.md`) to
 * a connection of that user once it is open: API Gateway cannot post to a connection while its
 * `$connect` runs, so `$connect` starts the delivery (an asynchronous invocation of
 * `ENDPOINT_DELIVERY_FUNCTION` in AWS; in the background under `npm start`), and the delivery waits
 * for the connection to open. Each message is taken (a conditional Delete) before it is posted, so
 * two deliveries never post the same one: delivered at most once, oldest first.
 */
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { postToConnection } from '../realtime/management-api.ts';
import { loadEndpointConnection } from '../state/endpoint-connections.ts';
import {
  claimKeptMessage,
  type KeptMessage,
  keptMessages,
  restoreKeptMessage,
  settleKeptMessage,
} from '../state/endpoint-messages.ts';

/** What a delivery is for: the connection of `user` on `endpoint`, just admitted. */
export interface KeptDelivery {
  readonly endpoint: string;
  readonly user: string;
  readonly connectionId: string;
  /** The management API to post through. */
  readonly via: string;
}

/** How long a delivery waits for the connection to open (API Gateway to finish its `$connect`). */
const OPEN_WAIT_MS = 10_000;

/**
 * How long a delivery takes new messages for (the endpoint-message function times out at 20 s): one
 * stopped by it leaves the rest kept for the user's next connection, so none is lost to a timeout.
 */
const DELIVERY_BUDGET_MS = 15_000;

/** How many kept messages are read at a time. */
const PAGE = 25;

/**
 * Posts `text` to the connection, waiting (up to `OPEN_WAIT_MS`) while it is admitted but not yet
 * open; `gone` once it is neither (closed before it got the message).
 */
async function postOnceOpen(delivery: KeptDelivery, text: string): Promise<'sent' | 'gone'> {
  const deadline = Date.now() + OPEN_WAIT_MS;
  for (let waitMs = 50; ; waitMs = Math.min(waitMs * 2, 1000)) {
    if ((await postToConnection(delivery.connectionId, text, delivery.via)) === 'sent') return 'sent';
    if (Date.now() > deadline || !(await loadEndpointConnection(delivery.connectionId))) return 'gone';
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/**
 * Delivers the messages kept for `delivery.user`, oldest first, to its connection: each is taken,
 * posted and its record marked `DELIVERED` (to that connection); one whose TTL has passed is taken
 * and marked `EXPIRED`, not posted. When the connection closes before a message is posted, that
 * message is put back, and it and the later ones wait for the next connection; so do those left
 * when the delivery has run `DELIVERY_BUDGET_MS`. Answers how many were delivered.
 */
export async function deliverKeptMessages(delivery: KeptDelivery): Promise<number> {
  const deadline = Date.now() + DELIVERY_BUDGET_MS;
  let delivered = 0;
  for (;;) {
    const page = await keptMessages(delivery.endpoint, delivery.user, PAGE);
    if (page.length === 0) return delivered;
    for (const kept of page) {
      if (Date.now() > deadline) {
        logger.warn('a delivery of kept messages ran out of time; the rest wait for the next connection', {
          endpoint: delivery.endpoint,
          connectionId: delivery.connectionId,
          delivered,
        });
        return delivered;
      }
      const text = await claimKeptMessage(kept);
      if (text === undefined) continue;
      if (kept.expiresAt * 1000 <= Date.now()) {
        await settleKeptMessage(kept, 'EXPIRED', {});
        continue;
      }
      if ((await postKept(delivery, kept, text)) === 'gone') return delivered;
      await settleKeptMessage(kept, 'DELIVERED', { deliveredTo: delivery.connectionId });
      delivered++;
    }
  }
}

/** Posts a taken message; put back when it could not be (the connection is gone, or the post failed). */
async function postKept(delivery: KeptDelivery, kept: KeptMessage, text: string): Promise<'sent' | 'gone'> {
  try {
    const outcome = await postOnceOpen(delivery, text);
    if (outcome === 'gone') await restoreKeptMessage(kept, text);
    return outcome;
  } catch (error) {
    await restoreKeptMessage(kept, text);
    throw error;
  }
}

/**
 * Starts delivering what is kept for a connection just admitted, if anything is (one Query), without
 * waiting for it: with `ENDPOINT_DELIVERY_FUNCTION` (AWS), an asynchronous invocation of that
 * function; without (the local runtime), in the background of this process, a failure logged.
 */
export async function startKeptDelivery(delivery: KeptDelivery): Promise<void> {
  if ((await keptMessages(delivery.endpoint, delivery.user, 1)).length === 0) return;
  const functionName = setting('ENDPOINT_DELIVERY_FUNCTION');
  if (functionName) {
    const { LambdaClient, InvokeCommand } = await import('./lambda-client.ts');
    await new LambdaClient({}).send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ deliverKept: delivery })),
      }),
    );
    return;
  }
  deliverKeptMessages(delivery).catch((error: unknown) =>
    logger.error('delivering the messages kept for a user failed', error as Error),
  );
}
