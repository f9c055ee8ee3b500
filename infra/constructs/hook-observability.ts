import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC } from '#shared/kernel/metric-names.ts';

export interface HookObservabilityProps {
  readonly api: HttpApi;
  /** The hook API's access logs (JSON, with `status`): throttled requests are counted from them. */
  readonly accessLogs: ILogGroup;
  /** E-mail address subscribed to the alarm topic. Default: none (subscribe to the topic yourself). */
  readonly alarmEmail?: string;
  /** The EMF namespace the functions publish to. */
  readonly metricsNamespace: string;
  /** Percentage of hook requests answered 4xx, over five minutes, that raises an alarm. Default 10. */
  readonly clientErrorRatePercent?: number;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The application metrics an alarm watches, each as the functions emit it for alarms (`countForAlarm`). */
const APPLICATION_ALARMS: readonly { metric: string; description: string }[] = [
  {
    metric: METRIC.decisionFallback,
    description:
      'Decisions were answered by their fail mode: DynamoDB is slow or failing (connect and publish are refused meanwhile).',
  },
  {
    metric: METRIC.spilled,
    description:
      'Event hooks were spilled: DynamoDB is slow or failing; they are replayed from the spill queue.',
  },
  {
    metric: METRIC.wcsNodeMisconfigured,
    description:
      "Data sends failed on a WCS node's configuration: its REST URL is wrong, or the node is outside the allowed networks (npm run cli -- nodes put).",
  },
  {
    metric: METRIC.wcsNodeDown,
    description:
      'A WCS node did not answer the node poller, answered 5xx, refused the REST credentials (401) or answered garbage: see npm run cli -- nodes list. Nothing of it is ended for that.',
  },
  {
    metric: METRIC.wcsNodeLost,
    description:
      'A WCS node has neither answered the poller nor sent a hook for NODE_LOST_AFTER_S: its open sessions and live streams were ended as node lost (docs/reconciliation.md).',
  },
  {
    metric: METRIC.wcsNodeUnreachable,
    description:
      "A WCS node's hooks arrive but the node poller cannot reach its REST API: it is alive, and not reconciled (functions outside the nodes' network? docs/deploy.md, VPC).",
  },
  {
    metric: METRIC.wcsNodeNotReconciled,
    description:
      'A WCS node the poller may ask has not been reconciled for RECONCILE_STALE_AFTER_S: state kept from its hooks alone may be stale (npm run cli -- nodes list says why).',
  },
  {
    metric: METRIC.wcsNodeLossBraked,
    description:
      "So many WCS nodes stopped answering at once that the poller suspects its own network and ended nothing (NODE_LOSS_BRAKE_PERCENT): check the functions' network.",
  },
  {
    metric: METRIC.reconcileMassEnd,
    description:
      'A reconciliation or a node loss ended most of what a WCS node held (RECONCILE_MASS_END_PERCENT): a node restart, or an answer to check (docs/reconciliation.md).',
  },
  {
    metric: METRIC.hookFromOtherNode,
    description:
      'Hooks named a WCS node other than the one their session or stream is on: not applied, kept as events (a misrouted or forged hook).',
  },
  {
    metric: METRIC.endpointLogicFailed,
    description:
      "A WebSocket endpoint's logic threw, timed out, answered garbage or could not be reached: its user agents got errors (logs of the endpoint functions; docs/endpoints.md).",
  },
];

/**
 * Everything that can fail in AWS has an alarm, all sent to one SNS topic, and the dashboard shows
 * it: the hook API's 5xx, throttled (429) requests and 4xx rate; every function's errors and
 * throttles (`watchFunctions`); each dead-letter queue (`watchDeadLetters`); the application's own
 * signs of trouble (decisions by fail mode, spilled events, misconfigured, down and lost WCS nodes).
 */
export class HookObservability extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

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
    // Control Tower's CT.KMS.PR.3: only AWS services, for their resources, may be granted the key.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'wcs-hooks alarms',
      enforceSSL: true,
      masterKey: key,
    });
    // `enforceSSL` gives the topic a policy, and a topic policy replaces SNS's default one: without this
    // Allow its only statement is the Deny on insecure transport, and no alarm may publish (the key
    // grant is necessary, not sufficient). Scoped to this account's alarms, as AWS advises.
    const stack = Stack.of(this);
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.alarmTopic);

    // The API: server errors, throttled requests (WCS does not resend an event it got 429 for), 4xx rate.
    const api5xx = props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    this.alarm(
      'Api5xx',
      'The hook API answered 5xx: WCS saw a backend error (it logs it, and fails the operation where restOnError is FAIL).',
      api5xx,
    );
    new MetricFilter(this, 'ThrottledHooks', {
      logGroup: props.accessLogs,
      metricNamespace: props.metricsNamespace,
      metricName: 'HookApiThrottled',
      filterPattern: FilterPattern.numberValue('$.status', '=', 429),
      metricValue: '1',
      defaultValue: 0,
    });
    const throttled = new Metric({
      namespace: props.metricsNamespace,
      metricName: 'HookApiThrottled',
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
    this.alarm(
      'ApiThrottled',
      'The hook API throttled requests (429): WCS does not resend an event it was refused, so they are lost. Raise throttleRateLimit/throttleBurstLimit (docs/deploy.md, sizing).',
      throttled,
    );
    const rate = props.clientErrorRatePercent ?? 10;
    const clientErrorRate = new MathExpression({
      expression: 'IF(requests >= 20, 100 * clientErrors / requests, 0)',
      usingMetrics: {
        requests: props.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }),
        clientErrors: props.api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      },
      label: '4xx, % of hook requests',
      period: FIVE_MINUTES,
    });
    this.alarm(
      'Api4xxRate',
      `Over ${rate}% of hook requests were answered 4xx: refusals, bad signatures, bad bodies or throttling.`,
      clientErrorRate,
      rate,
    );
    const alarmed = (name: string) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName: name,
        dimensionsMap: { service: 'wcs-hooks' },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    for (const { metric, description } of APPLICATION_ALARMS)
      this.alarm(metric, description, alarmed(metric));

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
              throttled.with({ period: Duration.minutes(1), label: 'throttled (429)' }),
            ],
            right: [clientErrorRate],
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
            title: 'Signs of trouble: decisions by fail mode, spilled events, misconfigured nodes',
            left: APPLICATION_ALARMS.map(({ metric }) =>
              alarmed(metric).with({ period: Duration.minutes(1) }),
            ),
            width: 24,
          }),
        ],
      ],
    });
  }

  private alarm(alarmId: string, description: string, metric: IMetric, threshold = 1): Alarm {
    const created = new Alarm(this, alarmId, {
      metric,
      alarmDescription: description,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(this.action);
    created.addOkAction(this.action);
    this.alarms.push(created);
    return created;
  }

  /** An errors and a throttles alarm for each of `functions`, and a dashboard row of them. */
  watchFunctions(group: string, functions: Readonly<Record<string, IFunction>>): void {
    for (const [name, fn] of Object.entries(functions)) {
      this.alarm(
        `${name}Errors`,
        `Function ${name} failed invocations.`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
      this.alarm(
        `${name}Throttles`,
        `Function ${name} was throttled: its invocations were refused (raise its concurrency).`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
    }
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${group}: errors (left) and throttles (right)`,
        left: Object.values(functions).map((fn) => fn.metricErrors({ period: Duration.minutes(1) })),
        right: Object.values(functions).map((fn) => fn.metricThrottles({ period: Duration.minutes(1) })),
        width: 24,
      }),
    );
  }

  /** An alarm as soon as one message is in the dead-letter queue `queue`, and its depth on the dashboard. */
  /** An alarm when `metric` (a count of what failed, e.g. a workflow's failed runs) reaches 1. */
  watchFailures(id: string, metric: IMetric, description: string): Alarm {
    return this.alarm(id, description, metric);
  }

  watchDeadLetters(id: string, queue: IQueue, description: string): Alarm {
    const depth = queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    this.dashboard.addWidgets(new GraphWidget({ title: `${id}: messages waiting`, left: [depth], width: 8 }));
    return this.alarm(`${id}DeadLetters`, description, depth);
  }
}
