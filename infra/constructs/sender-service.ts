import { Duration } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  SERVICE_FUNCTIONS,
  type ServiceFunctionName,
  type TableAccess,
  type TableName,
} from '#shared/hooks.ts';
import { TABLES } from '#shared/store/tables.ts';
import { HookFunction } from './hook-function.ts';

export interface SenderServiceProps {
  readonly api: HttpApi;
  readonly tables: Readonly<Record<TableName, TableV2>>;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly wcsRestCredentials: ISecret;
  readonly wcsRestUrls: Readonly<Record<string, string>>;
  readonly alarmTopic: ITopic;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /** Time the sender may take per batch; the queue's visibility timeout is six times this. */
  readonly senderTimeout: Duration;
}

/** The path of the operator API that pushes data to clients. */
export const DATA_SEND_PATH = '/api/data/send';

/**
 * The sender: the function that consumes the send queue (partial batch failures reported, so only
 * the failed sends come back, and the dead-letter queue takes a send after its last attempt), the
 * operator API `POST /api/data/send` behind IAM authorization, and an alarm as soon as anything
 * reaches the dead-letter queue.
 */
export class SenderService extends Construct {
  readonly functions: Readonly<Record<ServiceFunctionName, HookFunction>>;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SenderServiceProps) {
    super(scope, id);
    const environment = {
      ...props.environment,
      WCS_REST_URLS: JSON.stringify(props.wcsRestUrls),
    };
    this.functions = Object.fromEntries(
      (Object.keys(SERVICE_FUNCTIONS) as ServiceFunctionName[]).map((name) => {
        const definition = SERVICE_FUNCTIONS[name];
        const fn = new HookFunction(this, name, {
          entry: name,
          description: `wcs-hooks ${name}: ${definition.description}`,
          logRetention: props.logRetention,
          environment,
          ...(name === 'sender' && { timeout: props.senderTimeout }),
        });
        for (const [table, access] of Object.entries(definition.tables) as [TableName, TableAccess][]) {
          fn.bindTable(props.tables[table], TABLES[table], access);
        }
        fn.bindSendQueue(props.queue, definition.sendQueue);
        fn.bindSecret(props.wcsRestCredentials, 'WCS_REST_CREDENTIALS_ARN');
        return [name, fn];
      }),
    ) as Record<ServiceFunctionName, HookFunction>;

    this.functions.sender.addEventSource(
      new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 10 }),
    );
    props.api.addRoutes({
      path: DATA_SEND_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('DataSendIntegration', this.functions['data-send-api']),
      authorizer: new HttpIamAuthorizer(),
    });

    this.deadLetterAlarm = new Alarm(this, 'DeadLetters', {
      alarmDescription:
        'Sends reached the dead-letter queue: they failed on every attempt and were not delivered.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }
}
