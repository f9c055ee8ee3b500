import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DeclaredResources, HookFunction } from './hook-function.ts';

export interface SpillReplayerProps {
  /** The tables and queues the replayer declares in the registry (the spill queue among them). */
  readonly resources: DeclaredResources;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The spill replayer: the function that writes event hooks spilled while DynamoDB could not take
 * them (`shared/http/spill.ts`), consuming the spill queue with partial batch failures. The stack alarms
 * on the spill dead-letter queue (an event that could never be written).
 */
export class SpillReplayer extends Construct {
  readonly function: HookFunction;

  constructor(scope: Construct, id: string, props: SpillReplayerProps) {
    super(scope, id);
    this.function = HookFunction.fromRegistry(this, 'spill-replayer', {
      resources: props.resources,
      logRetention: props.logRetention,
      environment: props.environment,
      timeout: Duration.seconds(60),
    });
    this.function.addEventSource(
      new SqsEventSource(props.resources.spillQueue as Queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 5,
      }),
    );
  }
}
