/**
 * The stack's SQS queues: encrypted, TLS-only, messages kept 14 days. What fails is parked in a
 * dead-letter queue, never lost; a dead-letter queue says it is one.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

const COMMON = {
  encryption: QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(14),
} as const;

/**
 * A queue where what could not be processed is parked: of a queue, or a Lambda event source's
 * on-failure destination. Its redrive-allow policy declares it a dead-letter queue (what Control
 * Tower's CT.SQS.PR.1 asks of a queue without one); `allowAll`, because naming its source queue
 * would make a cycle (the source queue's redrive policy names this one).
 */
export function deadLetterQueue(scope: Construct, id: string, purpose: string): Queue {
  const queue = new Queue(scope, id, {
    ...COMMON,
    redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This is a dead-letter queue (${purpose}); it has none of its own.`,
  });
  return queue;
}

/**
 * A queue (`<name>Queue`) and its dead-letter queue (`<name>DeadLetterQueue`): what fails
 * `maxReceiveCount` times is parked, not lost.
 */
export function queueWithDeadLetters(
  scope: Construct,
  name: string,
  options: { visibilityTimeout: Duration; maxReceiveCount: number; purpose: string },
): [Queue, Queue] {
  const deadLetters = deadLetterQueue(scope, `${name}DeadLetterQueue`, options.purpose);
  const queue = new Queue(scope, `${name}Queue`, {
    ...COMMON,
    visibilityTimeout: options.visibilityTimeout,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: options.maxReceiveCount },
  });
  return [queue, deadLetters];
}
