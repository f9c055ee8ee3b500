/**
 * Configuration from context, and the checks at synthesis. These apps skip bundling
 * (`aws:cdk:bundling-stacks: []`): they are about the template, not the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { buildApp } from '../../infra/build-app.ts';
import { CONTEXT_KEYS } from '../../infra/config.ts';
import { ENDPOINTS_STAGE } from '../../infra/constructs/endpoints-api.ts';
import { SETTINGS } from '../../shared/kernel/config.ts';
import { TABLES } from '../../shared/store/tables.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

describe('a production stage', () => {
  it('differs only by configuration: tables retained and protected, logs kept a year', () => {
    const { stack } = buildApp({ context: { ...NO_BUNDLING, stage: 'prod' } });
    const template = Template.fromStack(stack);

    expect(stack.stackName).toBe('wcs-hooks-prod');
    const tables = template.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(Object.keys(TABLES).length);
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(365);
    }
  });
});

describe('synthesis as `cdk deploy` runs it', () => {
  it.each([
    ['without an account (cdk synth without credentials)', undefined],
    ['with a concrete account and region', { account: '111111111111', region: 'eu-west-1' }],
    ['in another account and region', { account: '222222222222', region: 'ap-southeast-2' }],
  ])('passes every check %s, for a production stage', (_case, env) => {
    const { app } = buildApp({ context: { ...NO_BUNDLING, stage: 'prod' } }, env);
    // The validation plugins (cdk-nag, CloudFormation Guard) run here: an unacknowledged finding throws.
    expect(() => app.synth()).not.toThrow();
  });
});

describe('configuration', () => {
  // One app for the settings that do not touch one another: each build of the stack takes seconds.
  let configured: Template;
  beforeAll(() => {
    const { stack } = buildApp({
      context: {
        ...NO_BUNDLING,
        throttleRateLimit: 50,
        throttleBurstLimit: 80,
        logLevel: 'DEBUG',
        dataRetentionDays: 7,
        defaultAppPolicy: 'closed',
        decisionBudgetMs: 700,
        decisionFailModes: { connect: 'open' },
        refusalAlarmPerMinute: 5,
        alarmEmail: 'ops@example.com',
      },
    });
    configured = Template.fromStack(stack);
  }, 300_000);

  it('takes throttling, log level and retention from context', () => {
    configured.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
    });
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { POWERTOOLS_LOG_LEVEL: 'DEBUG', RETENTION_DAYS: '7' } },
    });
  });

  it('passes admission settings to the functions', () => {
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          DEFAULT_APP_POLICY: 'closed',
          DECISION_BUDGET_MS: '700',
          DECISION_FAIL_MODES: '{"connect":"open"}',
        },
      },
    });
  });

  it('passes the refusal alarm threshold to the realtime stream consumer', () => {
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^wcs-hooks realtime-streams: '),
      Environment: { Variables: { REFUSAL_ALARM_PER_MINUTE: '5' } },
    });
  });

  it('outputs every table name, for the CLI', () => {
    const outputs = configured.toJSON().Outputs;
    for (const table of Object.keys(TABLES)) expect(outputs[`${table}Table`]).toBeDefined();
  });

  it('subscribes the alarm e-mail when one is given', () => {
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('can turn hook signatures off, leaving no hook secret', () => {
    const { stack } = buildApp({ context: { ...NO_BUNDLING, requireSignedHooks: 'false' } });
    const template = Template.fromStack(stack);
    expect(
      Object.keys(template.findResources('AWS::SecretsManager::Secret')).some((id) =>
        id.startsWith('HookSecret'),
      ),
    ).toBe(false);
    expect(JSON.stringify(template.toJSON())).not.toContain('WCS_HOOK_SECRET_ARN');
  });

  it('refuses a malformed value, naming it', () => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, throttleRateLimit: 'lots' } })).toThrow(
      /throttleRateLimit/,
    );
  });
});

describe('the checks at synthesis', () => {
  it('pass for the stack as it is', () => {
    const { app } = buildApp({ context: NO_BUNDLING });
    expect(() => app.synth()).not.toThrow();
  });

  it('fail synthesis on an AwsSolutions finding that is not acknowledged', () => {
    const { app, stack } = buildApp({ context: NO_BUNDLING });
    new Topic(stack, 'UnencryptedTopic');

    expect(() => app.synth()).toThrow();
  });

  it('accept a finding acknowledged with a reason', () => {
    const { app, stack } = buildApp({ context: NO_BUNDLING });
    const topic = new Topic(stack, 'AcknowledgedTopic', { enforceSSL: true });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'test: a topic without a key, acknowledged',
    });

    expect(() => app.synth()).not.toThrow();
  });
});

describe("AWS Control Tower's proactive controls", () => {
  const ENCRYPTED = { enforceSSL: true, encryption: QueueEncryption.SQS_MANAGED };

  it('fail synthesis on a finding that is not acknowledged', () => {
    const { app, stack } = buildApp({ context: NO_BUNDLING });
    // cdk-nag's finding is acknowledged: what fails is CT.SQS.PR.1 (a queue without a dead-letter queue).
    const queue = new Queue(stack, 'QueueWithoutDeadLetters', ENCRYPTED);
    Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'test: only the control fails' });

    expect(() => app.synth()).toThrow(/CT\.SQS\.PR\.1/);
    const { app: again, stack: same } = buildApp({ context: NO_BUNDLING });
    const acknowledged = new Queue(same, 'QueueWithoutDeadLetters', ENCRYPTED);
    Validations.of(acknowledged).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'test: only the control fails' },
      { id: 'cdk-validator-cfnguard::sqs_dlq_check', reason: 'test: the control acknowledged' },
    );
    expect(() => again.synth()).not.toThrow();
  });

  it("are met where the stack can meet them, so the acknowledgements' reasons hold", () => {
    const { stack } = buildApp({ context: NO_BUNDLING });
    const template = Template.fromStack(stack);
    // lambda_function_public_access_prohibited_check is acknowledged because every permission is for
    // API Gateway with a SourceArn naming this stack's API (an Fn::Join the rule cannot read).
    const apis = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'));
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions.length).toBeGreaterThan(20);
    for (const { Properties } of permissions) {
      expect(Properties.Principal).toBe('apigateway.amazonaws.com');
      const parts = Properties.SourceArn['Fn::Join'][1] as unknown[];
      expect(parts).toContain(':execute-api:');
      const refs = parts.flatMap((part) =>
        typeof part === 'object' && part && 'Ref' in part ? [part.Ref] : [],
      );
      expect(refs.filter((ref) => apis.includes(ref as string))).toHaveLength(1);
    }
    // Each dead-letter queue declares itself one (CT.SQS.PR.1), every other queue has one.
    for (const { Properties } of Object.values(template.findResources('AWS::SQS::Queue'))) {
      expect(Properties.RedrivePolicy ?? Properties.RedriveAllowPolicy).toBeDefined();
    }
    // The alarm key lets only AWS services be granted it (CT.KMS.PR.3).
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'kms:CreateGrant',
            Condition: {
              BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
            },
          }),
        ]),
      },
    });
  });

  it('acknowledge short log retention only for a stage that asks for it', () => {
    const acknowledged = (context: Record<string, unknown>) => {
      const { stack } = buildApp({ context: { ...NO_BUNDLING, ...context } });
      const rules = stack.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as object));
      return rules.includes('cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check');
    };
    expect(acknowledged({})).toBe(true);
    expect(acknowledged({ stage: 'prod' })).toBe(false);
    expect(acknowledged({ logRetentionDays: 400 })).toBe(false);
  });
});

describe('sizing', () => {
  it('gives the hook functions budgets and a breaker sized for an outage at 5,000 hooks/s, and pre-warms tables when asked', () => {
    const { stack } = buildApp({
      context: {
        ...NO_BUNDLING,
        tableWarmThroughput: { writeUnitsPerSecond: 20_000, readUnitsPerSecond: 12_000 },
      },
    });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUDGET_MS: '100',
          DECISION_BUDGET_MS: '300',
          SPILL_BREAKER_MS: '2000',
        }),
      },
    });
    for (const table of Object.values(template.findResources('AWS::DynamoDB::GlobalTable')))
      expect(table.Properties.WarmThroughput).toEqual({
        WriteUnitsPerSecond: 20_000,
        ReadUnitsPerSecond: 12_000,
      });
  });

  it('bounds the custom kept on items as the context asks (default 100 KiB)', () => {
    const expectBound = (context: Record<string, unknown>, bytes: string) =>
      Template.fromStack(buildApp({ context: { ...NO_BUNDLING, ...context } }).stack).hasResourceProperties(
        'AWS::Lambda::Function',
        { Environment: { Variables: Match.objectLike({ MAX_STORED_CUSTOM_BYTES: bytes }) } },
      );
    expectBound({}, '102400');
    expectBound({ maxStoredCustomBytes: 600 }, '600');
  });

  it('logs each answered hook at DEBUG only, unless the context asks for INFO', () => {
    const logEachHook = (context: Record<string, unknown>) =>
      Object.values(
        Template.fromStack(buildApp({ context: { ...NO_BUNDLING, ...context } }).stack).findResources(
          'AWS::Lambda::Function',
          { Properties: { Environment: { Variables: { LOG_EACH_HOOK: Match.anyValue() } } } },
        ),
      ).map((fn) => fn.Properties.Environment.Variables.LOG_EACH_HOOK);
    expect(new Set(logEachHook({}))).toEqual(new Set(['false']));
    expect(new Set(logEachHook({ logEachHook: true }))).toEqual(new Set(['true']));
  });

  it('warms every global secondary index as well as its table: a query by index meets the same surge', () => {
    const warm = { writeUnitsPerSecond: 20_000, readUnitsPerSecond: 12_000 };
    const template = Template.fromStack(
      buildApp({ context: { ...NO_BUNDLING, tableWarmThroughput: warm } }).stack,
    );

    const indexes = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')).flatMap(
      (table) => table.Properties.GlobalSecondaryIndexes ?? [],
    );
    expect(indexes.length).toBe(
      Object.values(TABLES).reduce((count, table) => count + table.globalIndexes.length, 0),
    );
    for (const index of indexes)
      expect({ index: index.IndexName, warm: index.WarmThroughput }).toEqual({
        index: index.IndexName,
        warm: { WriteUnitsPerSecond: 20_000, ReadUnitsPerSecond: 12_000 },
      });
  });

  it('leaves the indexes as DynamoDB makes them when no warm throughput is asked', () => {
    const template = Template.fromStack(buildApp({ context: NO_BUNDLING }).stack);

    for (const table of Object.values(template.findResources('AWS::DynamoDB::GlobalTable')))
      for (const index of table.Properties.GlobalSecondaryIndexes ?? [])
        expect(index.WarmThroughput).toBeUndefined();
  });

  it('refuses a warm throughput that is not a pair of positive integers', () => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, tableWarmThroughput: { writes: 5 } } })).toThrow(
      /tableWarmThroughput/,
    );
  });
});

describe('configuration the functions could not honour', () => {
  it.each([
    [{ defaultAppPolicy: '{admission: open' }, /context "defaultAppPolicy": DEFAULT_APP_POLICY .*not JSON/],
    [{ defaultAppPolicy: { admission: 'token' } }, /token admission needs hs256Secret or jwksUrl/],
    [
      { decisionFailModes: { connect: 'maybe' } },
      /context "decisionFailModes": .*must be "open" or "closed"/,
    ],
    [{ decisionFailModes: { StreamStatusEvent: 'open' } }, /not a decision hook/],
    [{ hookBodyLimitBytes: 300_000 }, /hookBodyLimitBytes.*at most 256000/],
    [{ maxStoredCustomBytes: 200_000 }, /maxStoredCustomBytes.*at most 102400/],
    [{ wcsRestUrls: { '10.0.0.1': 'http://10.0.0.1:8081/rest-api' } }, /nodes put/],
    [{ nodeDiscovery: 'everyone' }, /context "nodeDiscovery" must be "registered", "signed", "any"/],
    [{ nodePollMaxNodes: 2.5 }, /context "nodePollMaxNodes" must be a positive integer/],
    [{ reconcileMaxChanges: 0 }, /context "reconcileMaxChanges" must be a positive integer/],
    [
      { reconcileStaleAfterSeconds: 'soon' },
      /context "reconcileStaleAfterSeconds" must be a positive integer/,
    ],
    [{ reconcileMassEndPercent: 120 }, /context "reconcileMassEndPercent" is 120; at most 100/],
    [{ nodeLossBrakePercent: -5 }, /context "nodeLossBrakePercent" must be a whole number \(0 or more\)/],
  ])('%j fails synthesis with the reason', (context, message) => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, ...context } })).toThrow(message);
  });
});

describe('the endpoints edge', () => {
  const synthesized = (context: Record<string, unknown>) =>
    Template.fromStack(buildApp({ context: { ...NO_BUNDLING, ...context } }).stack);

  it('is a CloudFront distribution with its path function by default, giving EndpointsUrl', () => {
    const template = synthesized({});
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    template.resourceCountIs('AWS::CloudFront::Function', 1);
    expect(Object.keys(template.findOutputs('EndpointsUrl'))).toHaveLength(1);
    expect(Object.keys(template.findOutputs('EndpointsDirectUrl'))).toHaveLength(1);
  });

  it('is left out with endpointsEdge=false (CloudFront not yet allowed): the direct URL remains', () => {
    const template = synthesized({ endpointsEdge: false });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('AWS::CloudFront::Function', 0);
    expect(template.findOutputs('EndpointsUrl')).toEqual({});
    expect(Object.keys(template.findOutputs('EndpointsDirectUrl'))).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: ENDPOINTS_STAGE });
  });

  it('refuses a value that is not true or false', () => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, endpointsEdge: 'maybe' } })).toThrow(
      /context "endpointsEdge" must be true or false/,
    );
  });
});

describe('context keys', () => {
  const docs = (file: string) => readFileSync(join(import.meta.dirname, '..', '..', 'docs', file), 'utf8');

  it.each([
    ['nodePollIntervalSeconds', 30],
    ['retaindata', true],
    ['throttleRate', 100],
  ])('refuses %s, which the stack does not read, naming the settings it reads', (key, value) => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, [key]: value } })).toThrow(
      new RegExp(
        `context "${key}" is not a setting of wcs-hooks .*: stage, retainData, .*nodePollIntervalMinutes`,
      ),
    );
  });

  it("takes CDK's own keys: feature flags, its CLI's, its lookups", () => {
    const context = {
      ...NO_BUNDLING,
      '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
      'acknowledged-issue-numbers': [34892],
      'availability-zones:account=111111111111:region=eu-west-1': ['eu-west-1a', 'eu-west-1b'],
    };
    expect(() => buildApp({ context })).not.toThrow();
  });

  it('are the keys docs/deploy.md lists in "Settings", and the only ones docs/configuration.md names', () => {
    const settings = docs('deploy.md').split('## Settings')[1]?.split('\n## ')[0] ?? '';
    const listed = [...settings.matchAll(/^\| `(\w+)` +\|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...CONTEXT_KEYS].sort());
    // The last column of each row says how AWS sets the variable, naming the context key first.
    const named = docs('configuration.md')
      .split('\n')
      .map((row) => row.split('|').slice(1, -1))
      .filter((cells) => cells.length === 4)
      .flatMap((cells) => cells[3]?.match(/^ `([a-z]\w*)`/)?.[1] ?? []);
    expect(named.length).toBeGreaterThan(10);
    for (const key of named) expect(CONTEXT_KEYS).toContain(key);
  });
});

describe('the node edge settings', () => {
  /** The environment of each function, by registry name. */
  const environments = (context: Record<string, unknown>): Record<string, Record<string, string>> =>
    Object.fromEntries(
      Object.values(
        Template.fromStack(buildApp({ context: { ...NO_BUNDLING, ...context } }).stack).findResources(
          'AWS::Lambda::Function',
        ),
      ).map((fn) => [
        fn.Properties.Environment?.Variables?.WCS_HOOKS_FUNCTION,
        fn.Properties.Environment?.Variables,
      ]),
    );
  /** Context key, and the variable the functions read, as the configuration catalogue names them. */
  const POLLER_SETTINGS = [
    ['nodePollMaxNodes', 'NODE_POLL_MAX_NODES', 40],
    ['reconcileMaxChanges', 'RECONCILE_MAX_CHANGES', 200],
    ['reconcileStaleAfterSeconds', 'RECONCILE_STALE_AFTER_S', 900],
    ['reconcileMassEndPercent', 'RECONCILE_MASS_END_PERCENT', 80],
    ['nodeLossBrakePercent', 'NODE_LOSS_BRAKE_PERCENT', 0],
    ['streamKeepAliveTimeoutSeconds', 'STREAM_KEEP_ALIVE_TIMEOUT_S', 0],
  ] as const;

  it('reach the node poller from context, 0 where the functions allow it (no brake, no keep-alive timeout); NODE_DISCOVERY reaches every function that sends to WCS nodes', () => {
    // The keys are the ones the configuration catalogue (docs/configuration.md) names.
    for (const [key, variable] of [...POLLER_SETTINGS, ['nodeDiscovery', 'NODE_DISCOVERY']] as const)
      expect([variable, SETTINGS[variable].inAws]).toEqual([variable, `\`${key}\``]);
    const context = Object.fromEntries(POLLER_SETTINGS.map(([key, , value]) => [key, value]));
    const env = environments({ ...context, nodeDiscovery: 'registered' });
    for (const [, variable, value] of POLLER_SETTINGS)
      expect([variable, env['node-poller']?.[variable]]).toEqual([variable, String(value)]);
    const senders = Object.entries(env).filter(([, variables]) => variables?.NODE_DISCOVERY);
    // The functions that send to WCS nodes are those holding the WCS REST credentials.
    const credentialHolders = Object.entries(env).filter(
      ([, variables]) => variables?.WCS_REST_CREDENTIALS_ARN,
    );
    expect(senders.map(([name]) => name).sort()).toEqual(credentialHolders.map(([name]) => name).sort());
    expect(senders.map(([name]) => name)).toEqual(
      expect.arrayContaining(['node-poller', 'sender', 'data-send-api']),
    );
    for (const [, variables] of senders) expect(variables?.NODE_DISCOVERY).toBe('registered');
  });

  it('refuse a keep-alive timeout shorter than three keep-alive write intervals (180 s), other than 0 (never)', () => {
    const keepAlive = (seconds: number) => () =>
      buildApp({ context: { ...NO_BUNDLING, streamKeepAliveTimeoutSeconds: seconds } });
    expect(keepAlive(179)).toThrow(/"streamKeepAliveTimeoutSeconds" is 179; 0 \(never\) or at least 180/);
    expect(keepAlive(180)).not.toThrow();
    expect(keepAlive(0)).not.toThrow();
  });
});
