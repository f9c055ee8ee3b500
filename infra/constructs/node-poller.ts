import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DeclaredResources, HookFunction } from './hook-function.ts';
import { type NodeNetwork, placeNodeCaller } from './node-network.ts';
import { scheduleRunner } from './schedule-runner.ts';

export interface NodePollerProps {
  /** The tables the poller declares in the registry. */
  readonly resources: DeclaredResources;
  readonly wcsRestCredentials: ISecret;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /** Minutes between runs (EventBridge Scheduler's finest rate is a minute). */
  readonly intervalMinutes: number;
  /** The team's VPC, to reach nodes at private addresses. Default: outside any VPC (public addresses and registered URLs only). */
  readonly network?: NodeNetwork;
}

/**
 * The node poller (`functions/node-poller.ts`), run by EventBridge Scheduler every
 * `intervalMinutes`: each run polls the WCS nodes for 90 % of the interval (stream metrics at the
 * profiles' rate within it), so runs never overlap. An invocation the scheduler could not make goes
 * to a dead-letter queue the stack alarms on.
 */
export class NodePoller extends Construct {
  readonly function: HookFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: NodePollerProps) {
    super(scope, id);
    const intervalSeconds = props.intervalMinutes * 60;
    this.function = HookFunction.fromRegistry(this, 'node-poller', {
      resources: props.resources,
      logRetention: props.logRetention,
      environment: { ...props.environment, NODE_POLL_INTERVAL_S: String(intervalSeconds) },
      // The run, and the margin the handler keeps before the timeout.
      timeout: Duration.seconds(intervalSeconds + 30),
      // An answer of a node is read up to WCS_REST_MAX_ANSWER_BYTES (16 MiB) and parsed whole.
      memorySize: 512,
    });
    this.function.bindSecret(props.wcsRestCredentials, 'WCS_REST_CREDENTIALS_ARN');
    placeNodeCaller(this.function, props.network);
    // The schedule's own role, in this construct: it may invoke the poller and park a missed run.
    const runner = scheduleRunner(this, 'of the node poller schedule: runs it could not invoke');
    this.deadLetterQueue = runner.deadLetterQueue;
    const { role } = runner;
    new Schedule(this, 'Schedule', {
      description: 'wcs-hooks: poll the WCS nodes (status, stream metrics, threshold alarms)',
      schedule: ScheduleExpression.rate(Duration.minutes(props.intervalMinutes)),
      target: new LambdaInvoke(this.function, {
        role,
        deadLetterQueue: this.deadLetterQueue,
        // A run missed is not retried: the next one comes within the interval.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
    const functionArn = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionArn}.Arn>:*]`,
      reason:
        "EventBridge Scheduler's grant to invoke the poller function, any of its versions (the CDK grants the function ARN and its qualified ARNs).",
    });
  }
}
