/**
 * A durable queue on DynamoDB, for the local runtime, with SQS's contract where the sender relies
 * on it: a received message is hidden for a visibility timeout and comes back if not deleted; each
 * receive counts; past `maxReceiveCount` it moves to the dead-letter queue (`<queue>-dlq`). Written
 * by hand because no SQS emulator is among the npm packages this project may use; it is a stand-in
 * for SQS locally, not a queue to deploy.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { batchPutAll, dynamo, isConditionFailure } from './dynamo.ts';

export interface ReceivedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/**
 * Tells the consumers of this process that a queue received messages, so an idle consumer, which
 * polls less and less often while its queue stays empty, takes them at once. (SQS long polling does
 * the same for Lambda's event source.)
 */
const arrivals = new EventEmitter().setMaxListeners(0);

export class LocalQueue {
  readonly tableName: string;

  constructor(tableName: string) {
    this.tableName = tableName;
  }

  /** Appends `bodies` to `queue`, visible at once. */
  async send(queue: string, bodies: readonly string[]): Promise<void> {
    const now = Date.now();
    await batchPutAll(
      this.tableName,
      bodies.map((body, i) => ({
        queue,
        // Sortable by time, unique by the UUID.
        messageId: `${String(now).padStart(15, '0')}-${String(i).padStart(6, '0')}-${randomUUID()}`,
        body,
        receiveCount: 0,
        visibleAt: now,
      })),
    );
    arrivals.emit(queue);
  }

  /**
   * Up to `max` visible messages of `queue`, each now hidden for `visibilityMs` and its receive
   * count raised; claimed with a conditional write, so two consumers never get the same one.
   */
  async receive(queue: string, max: number, visibilityMs: number): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const received: ReceivedMessage[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#q = :q',
          FilterExpression: 'visibleAt <= :now',
          ExpressionAttributeNames: { '#q': 'queue' },
          ExpressionAttributeValues: { ':q': queue, ':now': now },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        if (received.length >= max) break;
        try {
          const { Attributes } = await dynamo.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { queue, messageId: item.messageId },
              UpdateExpression: 'SET visibleAt = :until ADD receiveCount :one',
              ConditionExpression: 'visibleAt <= :now',
              ExpressionAttributeValues: { ':until': now + visibilityMs, ':one': 1, ':now': now },
              ReturnValues: 'ALL_NEW',
            }),
          );
          received.push({
            messageId: String(item.messageId),
            body: String(Attributes?.body),
            receiveCount: Number(Attributes?.receiveCount),
          });
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      start = received.length >= max ? undefined : page.LastEvaluatedKey;
    } while (start);
    return received;
  }

  async delete(queue: string, messageId: string): Promise<void> {
    await dynamo.send(new DeleteCommand({ TableName: this.tableName, Key: { queue, messageId } }));
  }

  /** Moves a message to `<queue>-dlq`, as SQS's redrive policy does. */
  async moveToDeadLetter(queue: string, message: ReceivedMessage): Promise<void> {
    await dynamo.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          queue: `${queue}-dlq`,
          messageId: message.messageId,
          body: message.body,
          receiveCount: message.receiveCount,
          visibleAt: Date.now(),
        },
      }),
    );
    await this.delete(queue, message.messageId);
  }

  /** Every message of `queue`, visible or not (to inspect a dead-letter queue). */
  async peek(queue: string): Promise<ReceivedMessage[]> {
    const { Items } = await dynamo.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#q = :q',
        ExpressionAttributeNames: { '#q': 'queue' },
        ExpressionAttributeValues: { ':q': queue },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((i) => ({
      messageId: String(i.messageId),
      body: String(i.body),
      receiveCount: Number(i.receiveCount),
    }));
  }
}

/** The SQS event Lambda would deliver for `messages`. */
export function toSqsEvent(queue: string, messages: readonly ReceivedMessage[]): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.messageId,
        receiptHandle: m.messageId,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(Number.parseInt(m.messageId, 10)),
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:local:000000000000:${queue}`,
        awsRegion: 'local',
      }),
    ),
  };
}

export interface QueueConsumerOptions {
  readonly queue: LocalQueue;
  readonly queueName: string;
  /** The Lambda handler for SQS events, answering partial batch failures. */
  readonly handler: (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  /** Receives after which a message goes to the dead-letter queue (SQS `maxReceiveCount`). Default 5. */
  readonly maxReceiveCount?: number;
  /** How long a received message stays hidden. Default 30 s. */
  readonly visibilityMs?: number;
  /**
   * Pause after the first empty poll. Default 200 ms; it doubles while the queue stays empty, up
   * to 2 s (or the visibility timeout, if shorter), and a message sent in this process wakes the
   * consumer at once: an idle `npm start` polls its queue about once in 2 s, not five times a second.
   */
  readonly idleMs?: number;
}

/** The longest pause between polls of an empty queue. */
const MAX_IDLE_MS = 2000;

/**
 * Polls the queue and hands batches of up to 10 to `handler`, as Lambda's SQS event source does:
 * deletes what succeeded, leaves failures to come back after the visibility timeout, and moves a
 * message received more than `maxReceiveCount` times to the dead-letter queue. Returns a stop function.
 */
export function startQueueConsumer(options: QueueConsumerOptions): () => Promise<void> {
  const { queue, queueName, handler } = options;
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const maxIdleMs = Math.min(MAX_IDLE_MS, options.visibilityMs ?? MAX_IDLE_MS);
  let running = true;
  let wake: () => void = () => undefined;
  // A message sent between a poll and the pause after it must not wait out the pause.
  let arrived = false;
  const onArrival = () => {
    arrived = true;
    wake();
  };
  arrivals.on(queueName, onArrival);
  let emptyPolls = 0;
  const loop = (async () => {
    while (running) {
      let messages: ReceivedMessage[] = [];
      arrived = false;
      try {
        messages = await queue.receive(queueName, 10, options.visibilityMs ?? 30_000);
        const deliverable: ReceivedMessage[] = [];
        for (const m of messages) {
          if (m.receiveCount > maxReceiveCount) await queue.moveToDeadLetter(queueName, m);
          else deliverable.push(m);
        }
        if (deliverable.length > 0) {
          const { batchItemFailures } = await handler(toSqsEvent(queueName, deliverable));
          const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
          for (const m of deliverable)
            if (!failed.has(m.messageId)) await queue.delete(queueName, m.messageId);
        }
      } catch {
        // The database or the handler failed: the messages come back after their visibility timeout.
      }
      emptyPolls = messages.length === 0 ? emptyPolls + 1 : 0;
      if (emptyPolls > 0 && running && !arrived) {
        const pause = Math.min(
          (options.idleMs ?? 200) * 2 ** (emptyPolls - 1),
          Math.max(maxIdleMs, options.idleMs ?? 0),
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => undefined;
      }
    }
  })();
  return async () => {
    running = false;
    arrivals.off(queueName, onArrival);
    wake();
    await loop;
  };
}
