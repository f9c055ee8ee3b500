/**
 * Room to grow: every stack of the app, nested ones included, stays under 80 % of each CloudFormation
 * quota (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html),
 * synthesized with the settings that make the most resources (a VPC with its endpoints, an alarm
 * e-mail, signed hooks, the CloudFront edge). Near a limit, the next capability goes into a nested
 * stack: docs/deploy.md, "When the stack grows".
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App, CfnOutput, CfnParameter, CfnWaitConditionHandle, NestedStack, Stack } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { buildApp } from '../../infra/build-app.ts';

/** CloudFormation's quotas per template, and the share of each a stack may use. */
const LIMITS = { resources: 500, outputs: 200, parameters: 200, mappings: 200, mappingAttributes: 200 };
const TEMPLATE_BYTES = 1_000_000; // a template uploaded to S3, as the CDK deploys one past 51,200 bytes
const NAME_CHARACTERS = 255; // a logical id, an output's, parameter's or mapping's name
const DESCRIPTION_BYTES = 1024;
/** The longest name each service takes, for the names a template spells out (not those it leaves to AWS). */
const PHYSICAL_NAME_CHARACTERS: Readonly<Record<string, number>> = {
  'AWS::Lambda::Function.FunctionName': 64,
  'AWS::IAM::Role.RoleName': 64,
  'AWS::IAM::Policy.PolicyName': 128,
  'AWS::SQS::Queue.QueueName': 80,
  'AWS::SNS::Topic.TopicName': 256,
  'AWS::SNS::Topic.DisplayName': 100,
  'AWS::Logs::LogGroup.LogGroupName': 512,
  'AWS::ApiGatewayV2::Api.Name': 128,
  'AWS::CloudFront::Function.Name': 64,
  'AWS::CloudWatch::Alarm.AlarmName': 255,
  'AWS::CloudWatch::Dashboard.DashboardName': 255,
  'AWS::DynamoDB::GlobalTable.TableName': 255,
  'AWS::SecretsManager::Secret.Name': 512,
};
const SHARE = 0.8;

type TemplateJson = {
  Description?: string;
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, unknown>>;
};

/** Every template of a cloud assembly, top-level and nested, with its size in bytes. */
function templatesIn(dir: string): { file: string; bytes: number; template: TemplateJson }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return { file, bytes: Buffer.byteLength(text), template: JSON.parse(text) as TemplateJson };
    });
}

/** What a template uses of each quota, as the share of the quota: one finding per use past `SHARE`. */
function overShare(file: string, bytes: number, template: TemplateJson): string[] {
  const findings: string[] = [];
  const check = (what: string, used: number, limit: number) => {
    if (used > limit * SHARE) findings.push(`${file}: ${what} ${used} of ${limit} (over ${SHARE * 100} %)`);
  };
  const count = (section?: Record<string, unknown>) => Object.keys(section ?? {}).length;
  check('resources', count(template.Resources), LIMITS.resources);
  check('outputs', count(template.Outputs), LIMITS.outputs);
  check('parameters', count(template.Parameters), LIMITS.parameters);
  check('mappings', count(template.Mappings), LIMITS.mappings);
  for (const [name, mapping] of Object.entries(template.Mappings ?? {}))
    check(`attributes of mapping ${name}`, count(mapping), LIMITS.mappingAttributes);
  check('template bytes', bytes, TEMPLATE_BYTES);
  check('description bytes', Buffer.byteLength(template.Description ?? ''), DESCRIPTION_BYTES);
  const names = [template.Resources, template.Outputs, template.Parameters, template.Mappings].flatMap((s) =>
    Object.keys(s ?? {}),
  );
  for (const name of names) check(`characters of the name ${name}`, name.length, NAME_CHARACTERS);
  for (const [id, resource] of Object.entries(template.Resources ?? {}))
    for (const [property, value] of Object.entries(resource.Properties ?? {})) {
      const limit = PHYSICAL_NAME_CHARACTERS[`${resource.Type}.${property}`];
      if (limit && typeof value === 'string') check(`characters of ${id}'s ${property}`, value.length, limit);
    }
  return findings;
}

let templates: ReturnType<typeof templatesIn>;
const outdirs: string[] = [];

/** A folder for a cloud assembly, removed after the tests. */
function assemblyDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  outdirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  const outdir = assemblyDir('wcs-limits-');
  const { app } = buildApp(
    {
      outdir,
      context: {
        'aws:cdk:bundling-stacks': [],
        stage: 'prod',
        alarmEmail: 'ops@example.com',
        vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
        vpcSecurityGroupIds: 'sg-0123456789abcdef0',
        vpcEgress: 'endpoints',
        vpcId: 'vpc-0123456789abcdef0',
        vpcRouteTableIds: 'rtb-0123456789abcdef0',
      },
    },
    { account: '111111111111', region: 'eu-west-1' },
  );
  app.synth();
  templates = templatesIn(outdir);
}, 300_000);

describe('every stack of the app', () => {
  it('is synthesized: the stack, and any nested stack, each a template of its own', () => {
    expect(templates.map((t) => t.file)).toContain('wcs-hooks-prod.template.json');
  });

  it('stays under 80 % of each CloudFormation quota: resources, outputs, parameters, mappings, size, names', () => {
    const findings = templates.flatMap(({ file, bytes, template }) => overShare(file, bytes, template));

    expect(findings).toEqual([]);
  });
});

describe('the limit check', () => {
  it('reads nested stacks’ templates too, and finds what passes 80 % of a quota', () => {
    const outdir = assemblyDir('wcs-limits-nested-');
    const app = new App({ outdir });
    const parent = new Stack(app, 'Parent');
    const nested = new NestedStack(parent, 'Capability');
    for (let i = 0; i < 401; i++) new CfnWaitConditionHandle(nested, `Handle${i}`);
    for (let i = 0; i < 161; i++) new CfnOutput(nested, `Out${i}`, { value: 'x' });
    new CfnParameter(nested, 'P'.repeat(205));
    new Topic(nested, 'Named', { topicName: 'T'.repeat(205) });
    app.synth();

    const found = templatesIn(outdir).flatMap(({ file, bytes, template }) =>
      overShare(file, bytes, template),
    );

    expect(found).toEqual([
      expect.stringMatching(/^ParentCapability.*\.nested\.template\.json: resources 402 of 500/),
      expect.stringMatching(/nested\.template\.json: outputs 161 of 200/),
      expect.stringMatching(/nested\.template\.json: characters of the name P{205} 205 of 255/),
      expect.stringMatching(/nested\.template\.json: characters of Named.*'s TopicName 205 of 256/),
    ]);
  });
});
