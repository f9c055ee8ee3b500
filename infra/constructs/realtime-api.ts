import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STREAMED_TABLES } from '#shared/store/tables.ts';
import { ApiGatewayCloudWatchRole } from './api-gateway-account.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';
import { lambdaWebSocketApi } from './lambda-websocket-api.ts';
import { deadLetterQueue } from './queues.ts';
import { feedFromTableStreams } from './table-streams.ts';

export interface RealtimeApiProps {
  /** The tables the realtime functions declare (connections, and the ones the realms read). */
  readonly resources: DeclaredResources;
  /** The token an operator presents to connect (`?token=`). */
  readonly token: ISecret;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
}

const REALTIME_FUNCTIONS = [
  'realtime-connect',
  'realtime-disconnect',
  'realtime-message',
  'realtime-streams',
] as const;

/** Batches of one stream shard the realtime consumer handles at once (Lambda's maximum is 10). */
export const REALTIME_PARALLELIZATION = 10;
/**
 * The realtime monitoring API in AWS: an API Gateway WebSocket API (`$connect` checks the token,
 * `$disconnect` forgets the connection, `$default` speaks STOMP), and the function that pushes each
 * change of the sessions, streams and counters tables (DynamoDB Streams) to its subscribers. The same code
 * `npm start` serves at `/ws`.
 */
export class RealtimeApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly functions: Readonly<Record<(typeof REALTIME_FUNCTIONS)[number], HookFunction>>;
  /** The account's API Gateway CloudWatch Logs role: every WebSocket stage that logs depends on it. */
  readonly accountLogsRole: ApiGatewayCloudWatchRole;
  /** Where the stream consumer's batches go once their retries are spent. */
  readonly changesDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    this.functions = Object.fromEntries(
      REALTIME_FUNCTIONS.map((name) => {
        const fn = HookFunction.fromRegistry(this, name, {
          resources: props.resources,
          logRetention: props.logRetention,
          environment: props.environment,
        });
        return [name, fn];
      }),
    ) as Record<(typeof REALTIME_FUNCTIONS)[number], HookFunction>;
    this.functions['realtime-connect'].bindSecret(props.token, 'REALTIME_TOKEN_ARN');

    this.accountLogsRole = new ApiGatewayCloudWatchRole(this, 'AccountLogsRole', {
      logRetention: props.logRetention,
    });
    ({ api: this.api, stage: this.stage } = lambdaWebSocketApi(this, {
      description: 'wcs-hooks realtime monitoring: STOMP 1.2 over WebSocket',
      stageName: 'live',
      connect: this.functions['realtime-connect'],
      disconnect: this.functions['realtime-disconnect'],
      message: this.functions['realtime-message'],
      posting: [this.functions['realtime-message'], this.functions['realtime-streams']],
      managementUrlEnv: 'REALTIME_ENDPOINT',
      logRetention: props.logRetention,
      accountLogsRole: this.accountLogsRole.resource,
    }));
    const streams = this.functions['realtime-streams'];
    // What the consumer could not push after its retries: the batch's description, kept 14 days.
    this.changesDeadLetterQueue = deadLetterQueue(
      this,
      'ChangesDeadLetterQueue',
      'the on-failure destination of the realtime stream consumer',
    );
    // Up to 10 batches of a shard at once (the changes of one item stay in order): a busy cluster's
    // changes reach 100 subscribers within a second (docs/deploy.md, sizing).
    feedFromTableStreams(this, streams, props.resources, STREAMED_TABLES, {
      startingPosition: StartingPosition.LATEST,
      parallelizationFactor: REALTIME_PARALLELIZATION,
      onFailure: this.changesDeadLetterQueue,
    });
  }
}
