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
 * How the spill queue is drained, sized so that a 5-minute DynamoDB outage at 5,000 hooks/s (1.5
 * million spilled events) is written within 10 minutes of DynamoDB's return while hooks keep
 * coming (docs/deploy.md, "After the outage", has the arithmetic; a template test checks it).
 */
export const SPILL_REPLAY = {
  /** Records per invocation: the batch processor replays them concurrently. */
  batchSize: 100,
  /** How long the poller may gather a batch (required above 10 records); a backlog fills it at once. */
  maxBatchingWindowS: 1,
  /**
   * Invocations at once: 10 × ~500 records/s each ≈ 5,000 records/s, ~10,000 write units/s, what
   * the tables have beyond the live hooks' at the recommended warm throughput.
   */
  maxConcurrency: 10,
  /** Longest invocation: a batch whose DynamoDB requests all time out and retry ends well within it. */
  timeoutS: 20,
  /**
   * The spill queue's visibility timeout: six times the function's, as Lambda advises. A record that
   * failed during the outage is back this long after its attempt at most.
   */
  visibilityTimeoutS: 6 * 20,
  /** Receives before the spill dead-letter queue: 60 × 120 s, an outage of two hours loses nothing. */
  maxReceiveCount: 60,
} as const;

/**
 * The spill replayer: the function that writes event hooks spilled while DynamoDB could not take
 * them (`shared/http/spill.ts`), consuming the spill queue with partial batch failures
 * (`SPILL_REPLAY`). The stack alarms on the spill dead-letter queue (an event that could never be
 * written).
 */
export class SpillReplayer extends Construct {
  readonly function: HookFunction;

  constructor(scope: Construct, id: string, props: SpillReplayerProps) {
    super(scope, id);
    this.function = HookFunction.fromRegistry(this, 'spill-replayer', {
      resources: props.resources,
      logRetention: props.logRetention,
      environment: props.environment,
      timeout: Duration.seconds(SPILL_REPLAY.timeoutS),
    });
    this.function.addEventSource(
      new SqsEventSource(props.resources.spillQueue as Queue, {
        batchSize: SPILL_REPLAY.batchSize,
        maxBatchingWindow: Duration.seconds(SPILL_REPLAY.maxBatchingWindowS),
        reportBatchItemFailures: true,
        maxConcurrency: SPILL_REPLAY.maxConcurrency,
      }),
    );
  }
}
