import { EventSourceMapping, type StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TableName } from '#shared/kernel/registry.ts';
import { STREAM_BATCH_SIZE, streamedTableEnv } from '#shared/store/tables.ts';
import type { DeclaredResources, HookFunction } from './hook-function.ts';

export interface TableStreamsProps {
  /** Where each table's stream starts being read: `LATEST` (news only) or `TRIM_HORIZON` (all it holds). */
  readonly startingPosition: StartingPosition;
  /** Batches of one stream shard handled at once (Lambda's maximum is 10). */
  readonly parallelizationFactor: number;
  /** Where a batch goes once its retries are spent. */
  readonly onFailure: Queue;
}

/**
 * Feeds `consumer` from the DynamoDB Streams of `tables`: it may read their streams, gets each one's
 * physical name in `<ENV_VAR>_NAME` (to tell the records apart), and reports the first record it
 * could not handle (`reportBatchItemFailures`), so only it and those after are retried, 3 times.
 */
export function feedFromTableStreams(
  scope: Construct,
  consumer: HookFunction,
  resources: DeclaredResources,
  tables: readonly TableName[],
  props: TableStreamsProps,
): void {
  for (const name of tables) {
    const table = resources.tables[name];
    consumer.addEnvironment(streamedTableEnv(name), table.tableName);
    table.grantStreamRead(consumer);
    new EventSourceMapping(scope, `${table.node.id}Changes`, {
      target: consumer,
      eventSourceArn: table.tableStreamArn as string,
      startingPosition: props.startingPosition,
      batchSize: STREAM_BATCH_SIZE,
      parallelizationFactor: props.parallelizationFactor,
      retryAttempts: 3,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(props.onFailure),
    });
  }
}
