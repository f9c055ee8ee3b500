/**
 * The deployed stack, checked on its synthesized template: every hook in the registry has its route
 * and function, the tables are the local runtime's tables, each function may do exactly what its
 * handler does, bundles are built as specified, and the checks that cannot be skipped do run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { NestedStack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SAVED_QUERIES } from '../../infra/analytics/saved-queries.ts';
import { athenaViewSql, VIEWS, viewColumnsOf } from '../../infra/analytics/views.ts';
import { buildApp } from '../../infra/build-app.ts';
import { eagerFiles } from '../../infra/constructs/bundle.ts';
import { ENDPOINTS_STAGE } from '../../infra/constructs/endpoints-api.ts';
import { TABLE_ACTIONS } from '../../infra/constructs/hook-function.ts';
import { SIMULATED_TIME_HEADER } from '../../infra/local/simulated-clock.ts';
import { SETTINGS } from '../../shared/kernel/config.ts';
import {
  dedicatedHooks,
  FUNCTIONS,
  HANDLERS,
  type HandlerName,
  REALMS,
  type TableAccess,
} from '../../shared/kernel/registry.ts';
import { functionIdIn } from '../support/template-functions.ts';

type FunctionName = keyof typeof FUNCTIONS;

import {
  STREAMED_TABLES,
  streamedTableEnv,
  TABLES,
  toCreateTableInput,
  USAGE_SOURCE_TABLES,
} from '../../shared/store/tables.ts';

type Resource = { Type: string; Properties: Record<string, any> };
let template: Template;
let resources: Record<string, Resource>;
let assemblyDir: string;
/** The nested stack of SQL over the history (`infra/constructs/analytics.ts`). */
let analytics: Template;

/** Builds that look at the template, not the code, skip bundling (the first build bundles every function). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

beforeAll(() => {
  const { app, stack } = buildApp({ context: { stage: 'test' } });
  assemblyDir = app.synth().directory;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  analytics = Template.fromStack(stack.node.findChild('Analytics') as NestedStack);
}, 180_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** The logical id of the function for `handler` (construct path Hooks/<handler> or Sender/<name>). */
const functionIdOf = (handler: FunctionName): string => functionIdIn(resources, handler);

describe('the hook API', () => {
  it('routes POST /hooks/<method> for every hook with a dedicated handler to that handler’s function', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    for (const hook of dedicatedHooks()) {
      const route = routes.find((r) => r.RouteKey === `POST /hooks/${hook.method}`);
      expect(route).toBeDefined();
      const integrationId = String(route?.Target['Fn::Join'][1][1].Ref);
      const uri = resources[integrationId]?.Properties.IntegrationUri;
      expect(uri).toEqual({ 'Fn::GetAtt': [functionIdOf(hook.handler), 'Arn'] });
    }
  });

  it('sends every other method to the catch-all function', () => {
    const route = ofType('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /hooks/{method}',
    );
    const integrationId = String(route?.[1].Properties.Target['Fn::Join'][1][1].Ref);
    expect(resources[integrationId]?.Properties.IntegrationUri).toEqual({
      'Fn::GetAtt': [functionIdOf('echo'), 'Arn'],
    });
    const httpRoutes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) =>
      String(r.Properties.RouteKey).startsWith('POST '),
    );
    // + the catch-all and /api/data/send, the realms, and POST /api/endpoints/{code}/messages.
    expect(httpRoutes).toHaveLength(dedicatedHooks().length + 2 + REALMS.length + 1);
  });

  it('has one function per handler, and no other but the custom resource of the account logs role', () => {
    const ours = ofType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('RealtimeAccountLogsRole'));
    expect(ours).toHaveLength(Object.keys(FUNCTIONS).length);
  });

  it('routes POST /api/data/send to the data-send-api function, behind IAM authorization', () => {
    const route = ofType('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /api/data/send',
    );
    expect(route?.[1].Properties.AuthorizationType).toBe('AWS_IAM');
    const integrationId = String(route?.[1].Properties.Target['Fn::Join'][1][1].Ref);
    expect(resources[integrationId]?.Properties.IntegrationUri).toEqual({
      'Fn::GetAtt': [functionIdOf('data-send-api'), 'Arn'],
    });
  });

  it('throttles the stage and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      // Sized for a 50-node cluster at 5,000 hooks/s (docs/deploy.md, "Sizing").
      DefaultRouteSettings: { ThrottlingRateLimit: 6000, ThrottlingBurstLimit: 5000 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('context.requestId'),
      },
    });
  });

  it('outputs the hook URL to give WCS', () => {
    const outputs = template.toJSON().Outputs;
    expect(JSON.stringify(outputs.HookUrl.Value)).toContain('/hooks');
  });
});

describe('the state tables', () => {
  it.each(Object.values(TABLES))('$name has the keys and indexes the local runtime creates', (definition) => {
    const local = toCreateTableInput(definition, 'x');
    const [, table] =
      ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith(`State${definition.name}`)) ?? [];
    const p = table?.Properties ?? {};
    expect(p.KeySchema).toEqual(local.KeySchema);
    expect(
      [...p.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    ).toEqual(
      [...(local.AttributeDefinitions ?? [])].sort((a, b) =>
        String(a.AttributeName).localeCompare(String(b.AttributeName)),
      ),
    );
    const indexes = (list: any[] | undefined) =>
      (list ?? []).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection }));
    expect(indexes(p.GlobalSecondaryIndexes)).toEqual(indexes(local.GlobalSecondaryIndexes));
    expect(indexes(p.LocalSecondaryIndexes)).toEqual(indexes(local.LocalSecondaryIndexes));
  });

  it('are on-demand, with point-in-time recovery, TTL on expiresAt and streams on', () => {
    for (const [, table] of ofType('AWS::DynamoDB::GlobalTable')) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
      expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    }
  });

  it('are deleted with a development stack', () => {
    for (const [id] of ofType('AWS::DynamoDB::GlobalTable')) {
      expect(template.toJSON().Resources[id].DeletionPolicy).toBe('Delete');
    }
  });
});

/** The statements of `handler`'s role's policy. */
const policyOf = (handler: FunctionName) => {
  const fnId = functionIdOf(handler);
  const roleId = resources[fnId]?.Properties.Role['Fn::GetAtt'][0];
  const [, policy] =
    ofType('AWS::IAM::Policy').find(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleId)) ?? [];
  return policy?.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
};

describe('each function', () => {
  const tableIdOf = (name: string) =>
    ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith(`State${name}`))?.[0] as string;

  it.each(Object.keys(FUNCTIONS) as FunctionName[])(
    '%s is told which registry entry it is, and so checks its declared tables at start',
    (handler) => {
      expect(resources[functionIdOf(handler)]?.Properties.Environment.Variables.WCS_HOOKS_FUNCTION).toBe(
        handler,
      );
    },
  );

  it.each(Object.keys(FUNCTIONS) as FunctionName[])(
    '%s may use only the tables its handler declares, as declared',
    (handler) => {
      const statements = policyOf(handler);
      // Reading a table's stream is the realtime fan-out's, checked below; table grants are checked here.
      const STREAM_READS = /^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/;
      const isTableGrant = (s: { Action: string | string[] }) =>
        [s.Action].flat().some((a) => a.startsWith('dynamodb:') && !STREAM_READS.test(a));
      const dynamo = statements.filter(isTableGrant);
      const granted = new Map<string, Set<string>>();
      for (const statement of dynamo) {
        for (const resource of [statement.Resource].flat() as any[]) {
          const json = JSON.stringify(resource);
          const table = Object.values(TABLES).find((t) => json.includes(tableIdOf(t.name)));
          if (!table) throw new Error(`grant on an unknown resource ${json}`);
          const actions = granted.get(table.name) ?? new Set<string>();
          for (const action of [statement.Action].flat()) actions.add(action);
          granted.set(table.name, actions);
        }
      }
      const declared = FUNCTIONS[handler].tables as Partial<Record<string, TableAccess>>;
      expect([...granted.keys()].sort()).toEqual(Object.keys(declared).sort());
      for (const [table, access] of Object.entries(declared)) {
        expect([...(granted.get(table) ?? [])].sort()).toEqual(
          [...TABLE_ACTIONS[access as TableAccess]].sort(),
        );
      }
      // Nothing else but its own logs, its secrets and, if it declares it, the send queue.
      const others = statements.filter((s) => !isTableGrant(s));
      const otherActions = others.flatMap((s) => [s.Action].flat());
      for (const action of otherActions) {
        expect(action).toMatch(
          /^(logs:(CreateLogStream|PutLogEvents)|secretsmanager:(GetSecretValue|DescribeSecret)|sqs:.+|execute-api:ManageConnections|dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)|lambda:InvokeFunction)$/,
        );
      }
      // Only the realtime and endpoint functions post to connections; only the fan-out and the usage
      // consumer read the tables' streams; only the endpoint functions invoke (their logic).
      const endpointFunction = handler.startsWith('endpoint');
      expect(otherActions.includes('execute-api:ManageConnections')).toBe(
        ['realtime-message', 'realtime-streams'].includes(handler) || endpointFunction,
      );
      expect(otherActions.includes('lambda:InvokeFunction')).toBe(endpointFunction);
      expect(otherActions.some((a) => STREAM_READS.test(a))).toBe(
        handler === 'realtime-streams' || handler === 'usage-streams',
      );
      const sqsActions = new Set(
        others.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('sqs:')),
      );
      const { sendQueue, spillQueue, spillDeadLetters } = FUNCTIONS[handler];
      // The stream consumers send what they could not apply to their on-failure destination.
      expect(sqsActions.has('sqs:SendMessage')).toBe(
        sendQueue !== undefined ||
          spillQueue !== undefined ||
          spillDeadLetters !== undefined ||
          handler === 'realtime-streams' ||
          handler === 'usage-streams',
      );
      expect(sqsActions.has('sqs:ReceiveMessage')).toBe(sendQueue === 'consume' || spillQueue === 'consume');
      const env = resources[functionIdOf(handler)]?.Properties.Environment.Variables;
      expect(env.SEND_QUEUE_URL === undefined).toBe(sendQueue === undefined);
      expect(env.SPILL_QUEUE_URL === undefined).toBe(spillQueue === undefined);
      expect(JSON.stringify(statements.filter(isTableGrant))).not.toContain('"*"');
    },
  );

  it.each(Object.keys(HANDLERS) as HandlerName[])(
    '%s runs Node.js 24 on arm64 with its tables and the secret ARN in its environment',
    (handler) => {
      const p = resources[functionIdOf(handler)]?.Properties ?? {};
      expect(p).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      const env = p.Environment.Variables;
      for (const table of Object.keys(HANDLERS[handler].tables)) {
        const definition = TABLES[table as keyof typeof TABLES];
        expect(env[definition.envVar]).toEqual({ Ref: tableIdOf(definition.name) });
      }
      expect(env.WCS_HOOK_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^HookSecret/) });
      expect(env.WCS_HOOK_SECRET).toBeUndefined();
      expect(p.LoggingConfig?.LogGroup ?? p.LoggingConfig).toBeDefined();
      // Source maps are applied where a stack is logged (shared/kernel/source-stack.ts), not at every import.
      expect(String(env.NODE_OPTIONS ?? '')).not.toContain('--enable-source-maps');
    },
  );

  it('is bundled as split, minified ESM with a source map and the AWS SDK inside', () => {
    for (const handler of Object.keys(FUNCTIONS) as FunctionName[]) {
      const key = String(resources[functionIdOf(handler)]?.Properties.Code.S3Key);
      const dir = join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      // Minified: a few very long lines (multi-line template literals and legal comments aside).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
      expect(code).toContain('import.meta.url');
      expect(code).not.toMatch(/from\s*"@aws-sdk\//);
      // Split: what is reached only through import() is in chunks a cold start does not read, and
      // nothing a cold start reads loads node:http (the SDK loads it when it needs it).
      const eager = eagerFiles(join(dir, 'index.mjs'));
      const lazy = readdirSync(join(dir, 'chunks')).filter(
        (f) => f.endsWith('.mjs') && !eager.includes(join(dir, 'chunks', f)),
      );
      expect(lazy.length).toBeGreaterThan(0);
      expect(eager.map((f) => readFileSync(f, 'utf8')).join('\n')).toContain('DynamoDB');
      const loadingHttp = eager.filter((f) => /from\s*"node:http"/.test(readFileSync(f, 'utf8')));
      expect([handler, loadingHttp]).toEqual([handler, []]);
    }
  });

  it("never takes a hook's time from the request: no function sets SIMULATED_CLOCK, no bundle reads its header", () => {
    for (const [, fn] of ofType('AWS::Lambda::Function'))
      expect(Object.keys(fn.Properties.Environment?.Variables ?? {})).not.toContain('SIMULATED_CLOCK');
    for (const handler of Object.keys(FUNCTIONS) as FunctionName[]) {
      const key = String(resources[functionIdOf(handler)]?.Properties.Code.S3Key);
      const dir = join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
      const files = ['index.mjs', ...readdirSync(join(dir, 'chunks')).map((f) => join('chunks', f))];
      const code = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
      expect([handler, code.includes(SIMULATED_TIME_HEADER)]).toEqual([handler, false]);
    }
  });

  it('has its own log group with retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(Object.keys(FUNCTIONS).length + 1);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });
});

describe('secrets', () => {
  it('are generated by Secrets Manager, so no value is in the template', () => {
    for (const [, secret] of ofType('AWS::SecretsManager::Secret')) {
      expect(secret.Properties.GenerateSecretString).toBeDefined();
      expect(secret.Properties.SecretString).toBeUndefined();
    }
    expect(ofType('AWS::SecretsManager::Secret')).toHaveLength(3);
  });
});

describe('observability', () => {
  it('alarms on API 5xx and on every function’s errors and throttles, to one topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms.filter((a) => a.MetricName === '5xx')).toHaveLength(1);
    const functions = ofType('AWS::Lambda::Function').filter(
      ([id]) => !id.startsWith('RealtimeAccountLogsRole'),
    );
    for (const metric of ['Errors', 'Throttles']) {
      const watched = alarms
        .filter((a) => a.MetricName === metric)
        .map((a) => a.Dimensions[0].Value.Ref)
        .sort();
      expect(watched).toEqual(functions.map(([id]) => id).sort());
    }
    // Every dead-letter queue (send, spill, realtime changes, usage changes, node poller runs, and
    // the nested stack's analytics export runs) has its alarm.
    const deadLetterQueues = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedriveAllowPolicy);
    expect(deadLetterQueues).toHaveLength(5);
    const nested = Object.values(analytics.findResources('AWS::SQS::Queue')).filter(
      (q) => q.Properties.RedriveAllowPolicy,
    );
    expect(nested).toHaveLength(1);
    expect(alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(6);
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
  });

  it('counts throttled hook requests (429) from the access logs, and alarms on them and on the 4xx rate', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status = 429 }',
      MetricTransformations: [Match.objectLike({ MetricName: 'HookApiThrottled', MetricValue: '1' })],
    });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms.some((a) => a.MetricName === 'HookApiThrottled')).toBe(true);
    const rate = alarms.find((a) =>
      JSON.stringify(a.Metrics ?? []).includes('100 * clientErrors / requests'),
    );
    expect(rate?.Threshold).toBe(10);
  });

  it('alarms on the signs of trouble the functions report: decisions by fail mode, spills, misconfigured, down and lost nodes', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const metric of [
      'DecisionFallback',
      'HookSpilled',
      'WcsNodeMisconfigured',
      'WcsNodeDown',
      'WcsNodeLost',
    ]) {
      const alarm = alarms.find((a) => a.MetricName === metric);
      expect(alarm).toMatchObject({
        Namespace: 'WcsHooks',
        Dimensions: [{ Name: 'service', Value: 'wcs-hooks' }],
      });
    }
  });

  it('sends alarms to a topic CloudWatch can publish to: its own key lets cloudwatch.amazonaws.com use it', () => {
    const [, topic] = ofType('AWS::SNS::Topic')[0] ?? [];
    const keyId = topic?.Properties.KmsMasterKeyId?.['Fn::GetAtt']?.[0] as string;
    // Not an AWS managed key (alias/aws/sns), whose policy CloudWatch cannot use.
    expect(resources[keyId]?.Type).toBe('AWS::KMS::Key');
    const statements = resources[keyId]?.Properties.KeyPolicy.Statement as {
      Principal?: { Service?: string };
      Action: string | string[];
    }[];
    const cloudwatch = statements.find((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect([cloudwatch?.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(resources[keyId]?.Properties.EnableKeyRotation).toBe(true);
    for (const [, alarm] of ofType('AWS::CloudWatch::Alarm'))
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: ofType('AWS::SNS::Topic')[0]?.[0] }]);
  });

  it("lets CloudWatch publish to the alarm topic from this account's alarms only, over TLS only", () => {
    // A topic policy replaces SNS's default one: without an Allow, no alarm can publish.
    const [topicId] = ofType('AWS::SNS::Topic')[0] ?? [];
    const policies = ofType('AWS::SNS::TopicPolicy').filter(([, p]) =>
      p.Properties.Topics.some((t: { Ref?: string }) => t.Ref === topicId),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]?.[1].Properties.PolicyDocument.Statement as Record<string, any>[];
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Sid: expect.any(String),
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudwatch:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':alarm:*',
                ],
              ],
            },
          },
        },
      },
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('has a dashboard of the API and of the hooks by method', () => {
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0] ?? [];
    expect(JSON.stringify(dashboard?.Properties.DashboardBody)).toContain('MetricName=\\\\\\"Hooks\\\\\\"');
  });
});

describe('the sender', () => {
  it('consumes the send queue with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionIdOf('sender') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('parks a send in the dead-letter queue after 5 deliveries; every queue encrypted and TLS-only', () => {
    const queues = ofType('AWS::SQS::Queue');
    const send = queues.find(([id]) => id.startsWith('SendQueue'))?.[1].Properties;
    expect(send?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^SendDeadLetterQueue/), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(send?.VisibilityTimeout).toBe(360);
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    // Every queue has its TLS-only policy.
    expect(ofType('AWS::SQS::QueuePolicy')).toHaveLength(queues.length);
  });

  it('reads the WCS REST credentials from Secrets Manager, by ARN', () => {
    for (const name of ['sender', 'data-send-api'] as const) {
      const env = resources[functionIdOf(name)]?.Properties.Environment.Variables;
      expect(env.WCS_REST_CREDENTIALS_ARN).toEqual({ Ref: expect.stringMatching(/^WcsRestCredentials/) });
      // Node URLs are data (the configuration store), not an environment variable of 4 KB at most.
      expect(env.WCS_REST_URLS).toBeUndefined();
    }
  });
});

describe('the spill', () => {
  it('gives every hook function the spill queue, and the replayer consumes it with partial batch failures', () => {
    // A recording hook spills what it cannot write; a decision the record of its refusal by the fail
    // mode, or a body it keeps raw (a keep-alive in a shape it cannot identify).
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      expect(resources[functionIdOf(name)]?.Properties.Environment.Variables.SPILL_QUEUE_URL).toEqual({
        Ref: expect.stringMatching(/^SpillQueue/),
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionIdOf('spill-replayer') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const spill = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('SpillQueue'))?.[1].Properties;
    expect(spill?.RedrivePolicy.deadLetterTargetArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^SpillDeadLetterQueue/), 'Arn'],
    });
  });
});

describe('the spill replayer, sized for recovery', () => {
  it("drains a 5-minute outage at 5,000 hooks/s within 10 minutes of DynamoDB's return, by the arithmetic of docs/deploy.md", () => {
    // Arrange: the settings as deployed.
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(
      ([, r]) => r.Properties.FunctionName?.Ref === functionIdOf('spill-replayer'),
    ) as [string, Resource];
    const spill = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('SpillQueue'))?.[1].Properties;
    const replayer = resources[functionIdOf('spill-replayer')]?.Properties;
    const batchSize = mapping.Properties.BatchSize as number;
    const concurrency = mapping.Properties.ScalingConfig.MaximumConcurrency as number;
    const visibilityS = spill?.VisibilityTimeout as number;

    // Assert: the settings, and what they add up to.
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBe(1);
    expect(batchSize).toBe(100);
    expect(concurrency).toBe(10);
    expect(replayer?.Timeout).toBe(20);
    expect(visibilityS).toBe(6 * 20);
    expect(spill?.RedrivePolicy.maxReceiveCount).toBe(60);
    // docs/deploy.md: a batch of 100 replayed concurrently takes about 0.2 s (one to three DynamoDB
    // requests of ~10 ms each per record, the slowest of 100, and the poller's receive and delete).
    const backlog = 5_000 * 5 * 60;
    const recordsPerSecond = (concurrency * batchSize) / 0.2;
    // The last records tried during the outage come back after the visibility timeout at most.
    const drainedWithinS = visibilityS + backlog / recordsPerSecond;
    expect(drainedWithinS).toBeLessThanOrEqual(10 * 60);
    // The write units the drain adds stay within what the recommended warm throughput (20,000/s)
    // leaves beside the live hooks' (10,000/s), at ~2 per record.
    expect(recordsPerSecond * 2).toBeLessThanOrEqual(20_000 - 10_000);
    // An outage longer than the drain's whole retry budget would dead-letter: it is two hours.
    expect(spill?.RedrivePolicy.maxReceiveCount * visibilityS).toBeGreaterThanOrEqual(2 * 60 * 60);
  });
});

describe('the monitoring realms', () => {
  it('are routed POST /api/<realm> to the realm-api function, which admits the monitoring API token (no AWS signature: OAM clients send none)', () => {
    for (const realm of REALMS) {
      const route = ofType('AWS::ApiGatewayV2::Route').find(
        ([, r]) => r.Properties.RouteKey === `POST ${realm}`,
      );
      expect(route?.[1].Properties.AuthorizationType ?? 'NONE').toBe('NONE');
      const integrationId = String(route?.[1].Properties.Target['Fn::Join'][1][1].Ref);
      expect(resources[integrationId]?.Properties.IntegrationUri).toEqual({
        'Fn::GetAtt': [functionIdOf('realm-api'), 'Arn'],
      });
    }
    expect(resources[functionIdOf('realm-api')]?.Properties.Environment.Variables.REALTIME_TOKEN_ARN).toEqual(
      {
        Ref: expect.stringMatching(/^RealtimeToken/),
      },
    );
    // The live console, served by the same function, connects to the realtime API.
    const page = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === 'GET /console');
    expect(
      resources[String(page?.[1].Properties.Target['Fn::Join'][1][1].Ref)]?.Properties.IntegrationUri,
    ).toEqual({
      'Fn::GetAtt': [functionIdOf('realm-api'), 'Arn'],
    });
    expect(
      JSON.stringify(resources[functionIdOf('realm-api')]?.Properties.Environment.Variables.REALTIME_URL),
    ).toContain('wss://');
    expect(JSON.stringify(template.toJSON().Outputs.ConsoleUrl.Value)).toContain('/console');
    // The data-send API stays behind IAM.
    const send = ofType('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /api/data/send',
    );
    expect(send?.[1].Properties.AuthorizationType).toBe('AWS_IAM');
  });
});

/** The routes of the WebSocket API whose logical id starts with `prefix`, by route key. */
function webSocketRoutes(prefix: string) {
  return Object.fromEntries(
    ofType('AWS::ApiGatewayV2::Route')
      .filter(([, r]) => String(r.Properties.ApiId.Ref).startsWith(prefix))
      .map(([, r]) => [r.Properties.RouteKey, r.Properties]),
  );
}

describe('the endpoints API', () => {
  it('is a WebSocket API whose $connect, $disconnect and $default routes go to the endpoint functions', () => {
    const routes = webSocketRoutes('EndpointsApi');
    for (const [key, name] of [
      ['$connect', 'endpoint-connect'],
      ['$disconnect', 'endpoint-disconnect'],
      ['$default', 'endpoint-message'],
    ] as const) {
      const integrationId = String(routes[key]?.Target['Fn::Join'][1][1].Ref);
      expect(JSON.stringify(resources[integrationId]?.Properties.IntegrationUri)).toContain(
        functionIdOf(name),
      );
    }
    expect(ofType('AWS::ApiGatewayV2::Stage').map(([, r]) => r.Properties.StageName)).toContain(
      ENDPOINTS_STAGE,
    );
  });

  it('lets $connect invoke the message function, and only that one of its own, to deliver what was kept for a user who was offline', () => {
    const connectEnv = resources[functionIdOf('endpoint-connect')]?.Properties.Environment.Variables;
    expect(JSON.stringify(connectEnv.ENDPOINT_DELIVERY_FUNCTION)).toContain(functionIdOf('endpoint-message'));
    const invokes = (handler: FunctionName) =>
      policyOf(handler)
        .filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'))
        .map((s) => JSON.stringify(s.Resource))
        .join(' ');
    expect(invokes('endpoint-connect')).toContain(functionIdOf('endpoint-message'));
    for (const other of ['endpoint-message', 'endpoint-disconnect', 'endpoints-api'] as const) {
      expect(invokes(other)).not.toContain(functionIdOf('endpoint-message'));
      expect(
        resources[functionIdOf(other)]?.Properties.Environment.Variables.ENDPOINT_DELIVERY_FUNCTION,
      ).toBeUndefined();
    }
  });

  it('is reached at wss://<CloudFront>/ws/<code>: the viewer-request function turns the path into the stage and ?endpoint=', () => {
    const [[, fn] = []] = ofType('AWS::CloudFront::Function');
    const code = String(fn?.Properties.FunctionCode);
    expect(fn?.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    // The function as CloudFront runs it: `handler(event)` on a viewer request.
    const handler = new Function(`${code}; return handler;`)() as (event: unknown) => Record<string, unknown>;
    const request = (uri: string) => ({
      request: { uri, querystring: { token: { value: 't' } }, headers: {} },
    });
    expect(handler(request('/ws/lobby-1'))).toEqual({
      uri: `/${ENDPOINTS_STAGE}`,
      querystring: { token: { value: 't' }, endpoint: { value: 'lobby-1' } },
      headers: {},
    });
    expect(handler(request('/ws/shop.lobby'))).toMatchObject({
      querystring: { endpoint: { value: 'shop.lobby' } },
    });
    for (const uri of ['/', '/ws', '/ws/', '/ws/a/b', '/ws/bad%20code', `/ws/${'x'.repeat(65)}`, '/ws/..'])
      expect([uri, handler(request(uri))]).toEqual([
        uri,
        { statusCode: 404, statusDescription: 'Not Found' },
      ]);
    const [[, distribution] = []] = ofType('AWS::CloudFront::Distribution');
    const behavior = distribution?.Properties.DistributionConfig.DefaultCacheBehavior;
    expect(behavior.ViewerProtocolPolicy).toBe('https-only');
    expect(behavior.FunctionAssociations[0].EventType).toBe('viewer-request');
  });

  it('serves the operator routes /api/endpoints... behind IAM, from the endpoints-api function', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) =>
      String(r.Properties.RouteKey).includes('/api/endpoints'),
    );
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
      'DELETE /api/endpoints/{code}',
      'GET /api/endpoints',
      'GET /api/endpoints/{code}',
      'GET /api/endpoints/{code}/messages',
      'GET /api/endpoints/{code}/presence',
      'POST /api/endpoints/{code}/messages',
      'PUT /api/endpoints/{code}',
    ]);
    for (const [, route] of routes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('may invoke only the logic functions endpointLogicFunctions allows, and post to its own connections', () => {
    for (const name of [
      'endpoint-connect',
      'endpoint-message',
      'endpoint-disconnect',
      'endpoints-api',
    ] as const) {
      const fn = resources[functionIdOf(name)];
      expect(fn?.Properties.Environment.Variables).toMatchObject({
        ENDPOINT_LOGIC_FUNCTIONS: { 'Fn::Join': ['', expect.arrayContaining([':function:wcs-endpoint-*'])] },
        ENDPOINTS_ENDPOINT: expect.anything(),
        WCS_REST_CREDENTIALS_ARN: expect.anything(),
      });
      expect(fn?.Properties.Timeout).toBe(20);
    }
    const invokes = ofType('AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).filter(
        (st) =>
          [st.Action].flat().includes('lambda:InvokeFunction') &&
          JSON.stringify(st.Resource).includes(':function:'),
      ),
    );
    expect(invokes).toHaveLength(4);
    for (const statement of invokes)
      expect(JSON.stringify(statement.Resource)).toContain(':function:wcs-endpoint-*');
  });

  it('takes the allowed logic functions from the context, and refuses one that is not a Lambda ARN', () => {
    const allowed = 'arn:aws:lambda:eu-west-1:111111111111:function:chat-logic';
    const { stack } = buildApp({
      context: { ...NO_BUNDLING, stage: 'test', endpointLogicFunctions: allowed },
    });
    const env = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment?.Variables?.ENDPOINT_LOGIC_FUNCTIONS,
    );
    expect(env?.Properties.Environment.Variables.ENDPOINT_LOGIC_FUNCTIONS).toBe(allowed);
    expect(() =>
      buildApp({ context: { ...NO_BUNDLING, stage: 'test', endpointLogicFunctions: 'chat-logic' } }),
    ).toThrow(/endpointLogicFunctions.*not a Lambda function ARN/);
  });
});

describe('the realtime API', () => {
  it('is a WebSocket API whose $connect, $disconnect and $default routes go to their functions', () => {
    const routes = webSocketRoutes('RealtimeApi');
    for (const [key, name] of [
      ['$connect', 'realtime-connect'],
      ['$disconnect', 'realtime-disconnect'],
      ['$default', 'realtime-message'],
    ] as const) {
      const integrationId = String(routes[key]?.Target['Fn::Join'][1][1].Ref);
      expect(JSON.stringify(resources[integrationId]?.Properties.IntegrationUri)).toContain(
        functionIdOf(name),
      );
    }
  });

  const tableIdOf = (name: string) =>
    ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith(`State${name}`))?.[0] as string;
  /** The event source mappings of `consumer`, checked to be exactly those of the streams of `tables`. */
  const streamMappingsOf = (consumer: FunctionName, tables: readonly string[]) => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => m.Properties.FunctionName.Ref === functionIdOf(consumer),
    );
    expect(mappings.map(([, m]) => m.Properties.EventSourceArn['Fn::GetAtt']).sort()).toEqual(
      tables.map((table) => [tableIdOf(table), 'StreamArn']).sort(),
    );
    return mappings;
  };

  it('pushes the changes of every streamed table (sessions, streams, counters, monitoring, metrics), from their streams', () => {
    const mappings = streamMappingsOf('realtime-streams', STREAMED_TABLES);
    for (const [, m] of mappings) {
      expect(m.Properties).toMatchObject({
        StartingPosition: 'LATEST',
        BatchSize: 100,
        ParallelizationFactor: 10,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [expect.stringMatching(/^RealtimeChangesDeadLetterQueue/), 'Arn'] },
          },
        },
      });
    }
    // The consumer tells the tables apart by these names.
    const env = resources[functionIdOf('realtime-streams')]?.Properties.Environment.Variables;
    for (const table of STREAMED_TABLES)
      expect(env[streamedTableEnv(table)]).toEqual({ Ref: tableIdOf(table) });
  });

  it('keeps usage from the streams of the sessions, streams, data messages and counters tables, from their oldest record', () => {
    const mappings = streamMappingsOf('usage-streams', USAGE_SOURCE_TABLES);
    for (const [, m] of mappings)
      expect(m.Properties).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^UsageDeadLetters/), 'Arn'] } },
        },
      });
    const env = resources[functionIdOf('usage-streams')]?.Properties.Environment.Variables;
    for (const table of USAGE_SOURCE_TABLES)
      expect(env[streamedTableEnv(table)]).toEqual({ Ref: tableIdOf(table) });
  });

  it("logs its stages (and the endpoints API's) only once the account has an API Gateway CloudWatch Logs role, which it never takes away", () => {
    // The one custom resource of the stack: the account setting.
    const [[resourceId]] = ofType('AWS::CloudFormation::CustomResource') as [[string, Resource]];
    for (const prefix of ['RealtimeStage', 'EndpointsStage']) {
      const [stageId, stage] = ofType('AWS::ApiGatewayV2::Stage').find(([id]) => id.startsWith(prefix)) ?? [];
      expect(stageId).toBeDefined();
      expect(stage?.Properties.AccessLogSettings.DestinationArn).toBeDefined();
      expect((resources[stageId as string] as unknown as { DependsOn: string[] }).DependsOn).toContain(
        resourceId,
      );
    }
    const [roleId, role] =
      ofType('AWS::IAM::Role').find(
        ([, r]) =>
          r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'apigateway.amazonaws.com',
      ) ?? [];
    expect(role?.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe(
      'apigateway.amazonaws.com',
    );
    expect((resources[roleId as string] as unknown as { DeletionPolicy: string }).DeletionPolicy).toBe(
      'Retain',
    );
    const handlerPolicy = ofType('AWS::IAM::Policy').find(([id]) =>
      id.startsWith('RealtimeAccountLogsRoleHandlerRole'),
    )?.[1];
    const statements = (handlerPolicy?.Properties.PolicyDocument.Statement ?? []) as {
      Action: string | string[];
    }[];
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['apigateway:GET', 'apigateway:PATCH', 'iam:GetRole', 'iam:PassRole']),
    );
  });

  it('lets only the message and stream functions post to connections', () => {
    for (const name of ['realtime-message', 'realtime-streams'] as const) {
      const env = resources[functionIdOf(name)]?.Properties.Environment.Variables;
      expect(env.REALTIME_ENDPOINT).toBeDefined();
    }
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('execute-api:ManageConnections');
  });
});

describe('the node poller', () => {
  it('runs every minute by EventBridge Scheduler, with its own role, a run it could not start parked and alarmed', () => {
    const [, schedule] = ofType('AWS::Scheduler::Schedule')[0] ?? [];
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [functionIdOf('node-poller'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^NodePollerScheduleDeadLetters/), 'Arn'] },
        },
      },
    });
    const roleId = schedule?.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    expect(roleId).toMatch(/^NodePollerScheduleRole/);
    const poller = resources[functionIdOf('node-poller')]?.Properties;
    // The run (90 % of the interval) and the margin the handler keeps fit in the timeout.
    expect(poller?.Timeout).toBe(90);
    // A node's answer is read up to 16 MiB (WCS_REST_MAX_ANSWER_BYTES) and parsed whole.
    expect(poller?.MemorySize).toBe(512);
    expect(poller?.Environment.Variables).toMatchObject({
      NODE_POLL_INTERVAL_S: '60',
      METRICS_RETENTION_HOURS: '24',
      WCS_REST_CREDENTIALS_ARN: { Ref: expect.stringMatching(/^WcsRestCredentials/) },
      // The node edge's settings, at the configuration catalogue's defaults.
      NODE_DISCOVERY: SETTINGS.NODE_DISCOVERY.fallback,
      NODE_POLL_MAX_NODES: String(SETTINGS.NODE_POLL_MAX_NODES.fallback),
      RECONCILE_MAX_CHANGES: String(SETTINGS.RECONCILE_MAX_CHANGES.fallback),
      RECONCILE_STALE_AFTER_S: String(SETTINGS.RECONCILE_STALE_AFTER_S.fallback),
      RECONCILE_MASS_END_PERCENT: String(SETTINGS.RECONCILE_MASS_END_PERCENT.fallback),
      NODE_LOSS_BRAKE_PERCENT: String(SETTINGS.NODE_LOSS_BRAKE_PERCENT.fallback),
      STREAM_KEEP_ALIVE_TIMEOUT_S: String(SETTINGS.STREAM_KEEP_ALIVE_TIMEOUT_S.fallback),
    });
  });

  it('takes its interval and the metrics retention from context', () => {
    const { stack } = buildApp({
      context: { ...NO_BUNDLING, stage: 'test', nodePollIntervalMinutes: 5, metricsRetentionHours: 6 },
    });
    const other = Template.fromStack(stack);
    other.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)' });
    other.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ NODE_POLL_INTERVAL_S: '300', METRICS_RETENTION_HOURS: '6' }),
      },
    });
    expect(() =>
      buildApp({ context: { ...NO_BUNDLING, stage: 'test', nodePollIntervalMinutes: 0.5 } }),
    ).toThrow(/nodePollIntervalMinutes/);
  });
});

describe("OAM's settings in AWS", () => {
  it('gives the HTTP API CORS for the allowed origins, and the realtime functions the origins and the STOMP timeout', () => {
    expect(
      resources[ofType('AWS::ApiGatewayV2::Api').find(([id]) => id.startsWith('HooksApi'))?.[0] as string]
        ?.Properties.CorsConfiguration,
    ).toBeUndefined();
    const { stack } = buildApp({
      context: {
        ...NO_BUNDLING,
        stage: 'test',
        allowedOrigins: ['https://ops.example.com'],
        stompMaxTimeoutMs: 4000,
      },
    });
    const other = Template.fromStack(stack);
    other.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://ops.example.com'],
        AllowMethods: ['POST', 'OPTIONS'],
      }),
    });
    // The realtime functions admit the configured origins and the live console's, the hook API's.
    const realtime = Object.values(other.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.STOMP_MAX_TIMEOUT_MS === '4000',
    );
    expect(realtime.length).toBeGreaterThanOrEqual(3);
    for (const f of realtime) {
      const origins = JSON.stringify(f.Properties.Environment.Variables.ALLOWED_ORIGINS);
      expect(origins).toContain('"https://ops.example.com,"');
      expect(origins).toContain('ApiEndpoint');
    }
    expect(() =>
      buildApp({ context: { ...NO_BUNDLING, stage: 'test', allowedOrigins: 'ops.example.com/path' } }),
    ).toThrow(/allowedOrigins/);
  });
});

describe('SQL over the history in AWS (nested stack Analytics)', () => {
  const of = (type: string) => Object.entries(analytics.findResources(type));

  it('gets the ARNs of the tables the views read as parameters, and nothing else of the stack', () => {
    const nested = ofType('AWS::CloudFormation::Stack');
    expect(nested).toHaveLength(1);
    const parameters = nested[0]?.[1].Properties.Parameters;
    expect(Object.keys(parameters).sort()).toEqual(VIEWS.map((v) => `${v.table}TableArn`).sort());
    for (const view of VIEWS)
      expect(parameters[`${view.table}TableArn`]).toEqual({
        'Fn::GetAtt': [expect.stringMatching(new RegExp(`^State${view.table}`)), 'Arn'],
      });
  });

  it('keeps the exports in an encrypted, TLS-only bucket whose copies expire, with access logs', () => {
    const buckets = of('AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    for (const [, bucket] of buckets) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ]);
      expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true });
      expect(bucket.Properties.LifecycleConfiguration.Rules.length).toBeGreaterThan(0);
    }
    const [, data] = buckets.find(([, b]) => b.Properties.LoggingConfiguration) ?? [];
    expect(data?.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'exports/', ExpirationInDays: 7 }),
        expect.objectContaining({ Prefix: 'athena-results/', ExpirationInDays: 7 }),
      ]),
    );
    for (const [, policy] of of('AWS::S3::BucketPolicy'))
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
  });

  it('has a Glue view for every analytics view, over a raw table of its export', () => {
    const tables = of('AWS::Glue::Table').map(([, t]) => t.Properties.TableInput);
    for (const view of VIEWS) {
      const glueView = tables.find((t) => t.Name === view.name.toLowerCase());
      expect(glueView?.TableType).toBe('VIRTUAL_VIEW');
      const encoded = /^\/\* Presto View: (.+) \*\/$/.exec(glueView?.ViewOriginalText)?.[1] ?? '';
      const definition = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
      expect(definition).toMatchObject({
        originalSql: athenaViewSql(view),
        catalog: 'awsdatacatalog',
        schema: 'wcs_hooks_test_analytics',
        columns: viewColumnsOf(view),
      });
      const raw = tables.find((t) => t.Name === `${view.table.toLowerCase()}_export`);
      expect(raw?.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        'org.openx.data.jsonserde.JsonSerDe',
      );
    }
  });

  it('has an Athena workgroup that enforces encrypted results, with every saved query', () => {
    analytics.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
    const named = of('AWS::Athena::NamedQuery').map(([, q]) => q.Properties);
    expect(named.map((q) => q.Name).sort()).toEqual(SAVED_QUERIES.map((q) => q.name).sort());
    for (const query of SAVED_QUERIES)
      expect(named.find((q) => q.Name === query.name)?.QueryString).toBe(query.sql);
  });

  it('exports on a daily schedule, with a workflow that may export only those tables and write only exports/', () => {
    analytics.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(15 0 * * ? *)' });
    const statements = of('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const exportStatement = statements.find((s) => s.Action === 'dynamodb:exportTableToPointInTime');
    expect(exportStatement?.Resource).toEqual(
      expect.arrayContaining(VIEWS.map((v) => ({ Ref: `${v.table}TableArn` }))),
    );
    expect(exportStatement?.Resource).toHaveLength(VIEWS.length);
    const writes = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0]?.Resource)).toContain('/exports/*');
    expect(JSON.stringify(statements)).not.toMatch(/"dynamodb:(Scan|Query|GetItem|\*)"/);
    // A failed run and a run the scheduler could not start are alarmed, in the stack.
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => JSON.stringify(a.Properties));
    expect(alarms.some((a) => a.includes('ExecutionsFailed'))).toBe(true);
  });
});
