import type { Duration } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DeclaredResources, HookFunction } from './hook-function.ts';
import { type NodeNetwork, placeNodeCaller } from './node-network.ts';

export interface SenderServiceProps {
  readonly api: HttpApi;
  /** The tables and queues the functions declare in the registry. */
  readonly resources: DeclaredResources;
  readonly wcsRestCredentials: ISecret;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /** Time the sender may take per batch; the queue's visibility timeout is six times this. */
  readonly senderTimeout: Duration;
  /** The team's VPC, to reach nodes at private addresses. Default: outside any VPC (public addresses and registered URLs only). */
  readonly network?: NodeNetwork;
}

/** The path of the operator API that pushes data to clients. */
export const DATA_SEND_PATH = '/api/data/send';

/** Invocations of the send queue's consumer at once, at most: what it may take of the account's concurrency. */
export const SENDER_MAX_CONCURRENCY = 10;

const SENDER_FUNCTIONS = ['data-send-api', 'sender'] as const;

/**
 * The sender: the function that consumes the send queue (partial batch failures reported, so only
 * the failed sends come back, and the dead-letter queue takes a send after its last attempt), the
 * operator API `POST /api/data/send` behind IAM authorization. The stack alarms on the dead-letter
 * queue (`HookObservability.watchDeadLetters`).
 */
export class SenderService extends Construct {
  readonly functions: Readonly<Record<(typeof SENDER_FUNCTIONS)[number], HookFunction>>;

  constructor(scope: Construct, id: string, props: SenderServiceProps) {
    super(scope, id);
    const { environment } = props;
    this.functions = Object.fromEntries(
      SENDER_FUNCTIONS.map((name) => {
        const fn = HookFunction.fromRegistry(this, name, {
          resources: props.resources,
          logRetention: props.logRetention,
          environment,
          ...(name === 'sender' && { timeout: props.senderTimeout }),
        });
        fn.bindSecret(props.wcsRestCredentials, 'WCS_REST_CREDENTIALS_ARN');
        placeNodeCaller(fn, props.network);
        return [name, fn];
      }),
    ) as Record<(typeof SENDER_FUNCTIONS)[number], HookFunction>;

    this.functions.sender.addEventSource(
      new SqsEventSource(props.resources.sendQueue as Queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: SENDER_MAX_CONCURRENCY,
      }),
    );
    props.api.addRoutes({
      path: DATA_SEND_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('DataSendIntegration', this.functions['data-send-api']),
      authorizer: new HttpIamAuthorizer(),
    });
  }
}
