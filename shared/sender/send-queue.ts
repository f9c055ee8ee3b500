/**
 * The send queue: work for the sender function, for callers who want fire-and-forget, for fan-outs
 * too large to answer in one request, and for sends to retry later. In AWS it is SQS
 * (`SEND_QUEUE_URL`), with a dead-letter queue after repeated failure; locally the durable
 * DynamoDB-backed queue of `local-queue.ts` (`LOCAL_QUEUE_TABLE`), which behaves the same way.
 */
import { setting } from '../kernel/config.ts';
import { sqsClient } from '../kernel/lazy.ts';
import { LocalQueue } from '../store/local-queue.ts';
import type { SendTarget } from './send-targets.ts';

/** Resolve a target and queue one `send` per session: the first step of a large fan-out. */
export interface FanOutMessage {
  readonly kind: 'fanout';
  readonly jobId: string;
  readonly target: SendTarget;
  readonly payload: unknown;
  readonly requestedAt: string;
}

/** Push one payload to one session. Its `operationId` is fixed here, so every retry reuses it. */
export interface SendMessage {
  readonly kind: 'send';
  readonly jobId?: string;
  readonly operationId: string;
  readonly sessionId: string;
  readonly nodeId: string;
  readonly appKey?: string;
  readonly target: string;
  readonly payload: unknown;
  readonly requestedAt: string;
}

export type QueueMessage = FanOutMessage | SendMessage;

/** The name of the local queue the sender consumes (and of its dead-letter queue, with `-dlq`). */
export const LOCAL_SEND_QUEUE = 'send';

/** Adds `messages` to the send queue; throws if any could not be queued (nothing is dropped silently). */
export async function enqueue(messages: readonly QueueMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const queueUrl = setting('SEND_QUEUE_URL');
  if (queueUrl) {
    const { client: sqs, SendMessageBatchCommand } = await sqsClient();
    for (let i = 0; i < messages.length; i += 10) {
      let batch = messages
        .slice(i, i + 10)
        .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
      for (let attempt = 0; attempt < 3 && batch.length > 0; attempt++) {
        const { Failed } = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }),
        );
        const failed = new Set((Failed ?? []).map((f) => f.Id));
        batch = batch.filter((entry) => failed.has(entry.Id));
      }
      if (batch.length > 0) throw new Error(`${batch.length} messages could not be queued to ${queueUrl}`);
    }
    return;
  }
  const table = setting('LOCAL_QUEUE_TABLE');
  if (table) {
    await new LocalQueue(table).send(
      LOCAL_SEND_QUEUE,
      messages.map((m) => JSON.stringify(m)),
    );
    return;
  }
  throw new Error('no send queue configured: set SEND_QUEUE_URL (AWS) or LOCAL_QUEUE_TABLE (local runtime)');
}
