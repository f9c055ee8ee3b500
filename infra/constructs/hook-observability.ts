import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  type Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRIC } from '#shared/metric-names.ts';

export interface HookObservabilityProps {
  readonly api: HttpApi;
  readonly functions: Readonly<Record<string, IFunction>>;
  /** E-mail address subscribed to the alarm topic. Default: none (subscribe to the topic yourself). */
  readonly alarmEmail?: string;
  /** The EMF namespace the functions publish to. */
  readonly metricsNamespace: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms on the hook API's 5xx answers and on every function's errors and throttles, all sent to
 * one SNS topic; and a dashboard of the API and of the hooks by method (from the functions' EMF).
 */
export class HookObservability extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: HookObservabilityProps) {
    super(scope, id);
    // Encrypted with a key of our own: CloudWatch cannot publish to a topic under the AWS managed key
    // `alias/aws/sns`, whose policy neither we nor CloudWatch can change, and an alarm that cannot
    // publish notifies nobody. This key's policy lets CloudWatch (for this account's alarms) use it.
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'wcs-hooks: encrypts the alarm topic; CloudWatch alarms may publish to it',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'wcs-hooks alarms',
      enforceSSL: true,
      masterKey: key,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);
    const alarm = (alarmId: string, description: string, metric: Metric | MathExpression, threshold = 1) => {
      const created = metric.createAlarm(this, alarmId, {
        alarmDescription: description,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    const api5xx = props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    alarm(
      'Api5xx',
      'The hook API answered 5xx: WCS saw a backend error (it logs it, and fails the operation where restOnError is FAIL).',
      api5xx,
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `${name}Errors`,
        `Function ${name} failed invocations.`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
      alarm(
        `${name}Throttles`,
        `Function ${name} was throttled: hooks were refused.`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
    }

    const emf = (metricName: string, statistic: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${props.metricsNamespace},method,service} MetricName="${metricName}"', '${statistic}', 60)`,
        label,
        period: Duration.minutes(1),
      });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Hook API requests and errors',
            left: [
              props.api.metricCount({ statistic: 'Sum', period: Duration.minutes(1) }),
              props.api.metricClientError({ statistic: 'Sum', period: Duration.minutes(1) }),
              props.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(1) }),
            ],
            width: 12,
          }),
          new GraphWidget({
            title: 'Hook API latency (ms)',
            left: [
              props.api.metricLatency({ statistic: 'p50', period: Duration.minutes(1) }),
              props.api.metricLatency({ statistic: 'p99', period: Duration.minutes(1) }),
            ],
            width: 12,
          }),
        ],
        [
          new GraphWidget({ title: 'Hooks by method', left: [emf(METRIC.hooks, 'Sum', 'hooks')], width: 8 }),
          new GraphWidget({
            title: 'Rejected hooks (4xx)',
            left: [emf(METRIC.rejected, 'Sum', 'rejected')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Hook latency p99 by method (ms)',
            left: [emf(METRIC.latency, 'p99', 'p99')],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Function errors and throttles',
            left: Object.values(props.functions).map((fn) =>
              fn.metricErrors({ period: Duration.minutes(1) }),
            ),
            right: Object.values(props.functions).map((fn) =>
              fn.metricThrottles({ period: Duration.minutes(1) }),
            ),
            width: 24,
          }),
        ],
      ],
    });
  }
}
