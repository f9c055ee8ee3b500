/**
 * What an EventBridge Scheduler schedule of the stack runs with: the role the scheduler assumes,
 * only on this account's behalf (`aws:SourceAccount`, no confused deputy), and the dead-letter queue
 * where a run it could not start is parked. The schedule's target grants the role what it starts.
 */
import { Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { deadLetterQueue } from './queues.ts';

/** `ScheduleDeadLetters` and `ScheduleRole` in `scope`; `purpose` says what the parked runs are. */
export function scheduleRunner(scope: Construct, purpose: string): { role: Role; deadLetterQueue: Queue } {
  const deadLetters = deadLetterQueue(scope, 'ScheduleDeadLetters', purpose);
  const role = new Role(scope, 'ScheduleRole', {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  });
  return { role, deadLetterQueue: deadLetters };
}
