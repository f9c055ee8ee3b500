import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { USAGE_SOURCE_TABLES } from '#shared/store/tables.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';
import { deadLetterQueue } from './queues.ts';
import { feedFromTableStreams } from './table-streams.ts';

export interface UsageAggregatorProps {
  /** The tables: the usage table its registry entry declares, and the source tables whose streams feed it. */
  readonly resources: DeclaredResources;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The usage consumer (`functions/usage-streams.ts`): the DynamoDB Streams of the sessions, streams,
 * data messages and counters tables feed it, and it keeps the usage aggregates in the usage table
 * (docs/data-model.md, "`usage`"). It may write only that table and read only those streams. A batch
 * it could not apply after its retries goes to a dead-letter queue the stack alarms on.
 */
export class UsageAggregator extends Construct {
  readonly function: HookFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: UsageAggregatorProps) {
    super(scope, id);
    this.function = HookFunction.fromRegistry(this, 'usage-streams', {
      resources: props.resources,
      logRetention: props.logRetention,
      environment: props.environment,
    });
    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetters',
      'the on-failure destination of the usage consumer: changes not applied to the usage aggregates',
    );
    // The changes of one item stay in order; items apart are applied concurrently within a batch.
    feedFromTableStreams(this, this.function, props.resources, USAGE_SOURCE_TABLES, {
      // A new stack's aggregates start from the oldest change its tables' streams hold (24 hours).
      startingPosition: StartingPosition.TRIM_HORIZON,
      parallelizationFactor: 4,
      onFailure: this.deadLetterQueue,
    });
  }
}
