/**
 * Each function's role, as synthesized for a concrete account, evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate): every DynamoDB action the registry declares for it is allowed, on
 * the table and, for reads, on each of the table's indexes; an action it does not declare, and any
 * action on a table it does not declare, is denied. The template test compares the template with
 * the registry; this asks what IAM would decide. The stack is synthesized with the functions that
 * call WCS nodes in a VPC (their table grants are the same either way), so that their
 * network-interface permissions are decided too.
 */

import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build-app.ts';
import { FUNCTIONS, type TableAccess, type TableName } from '../../shared/kernel/registry.ts';
import { TABLE_ACTIONS } from '../../shared/store/access.ts';
import { TABLES } from '../../shared/store/tables.ts';
import { functionIdIn } from '../support/template-functions.ts';

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const SUBNET = 'subnet-0123456789abcdef0';
const SECURITY_GROUP = 'sg-0123456789abcdef0';
type Resource = { Type: string; Properties: Record<string, any> };
let resources: Record<string, Resource>;

beforeAll(() => {
  const { stack } = buildApp(
    {
      context: {
        'aws:cdk:bundling-stacks': [],
        stage: 'test',
        vpcSubnetIds: SUBNET,
        vpcSecurityGroupIds: SECURITY_GROUP,
      },
    },
    { account: ACCOUNT, region: REGION },
  );
  resources = Template.fromStack(stack).toJSON().Resources;
}, 120_000);

/** A resource's ARN, as CloudFormation would give it (`Fn::GetAtt` Arn, StreamArn). */
function arnOf(id: string, attribute: string): string {
  const type = resources[id]?.Type;
  if (type === 'AWS::DynamoDB::GlobalTable')
    return attribute === 'StreamArn'
      ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}/stream/2026-11-30T00:00:00.000`
      : `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
  if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
  if (type === 'AWS::Logs::LogGroup') return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
  if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
  if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${id}`;
  if (type === 'AWS::KMS::Key') return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
  return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:resource/${id}`;
}

function refOf(name: string): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (pseudo[name]) return pseudo[name];
  const type = resources[name]?.Type;
  if (type === 'AWS::SecretsManager::Secret')
    return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
  if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
  return name;
}

/** A value of the template with its intrinsic functions resolved to concrete values. */
function resolve(value: unknown): any {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, any>;
  if ('Ref' in v) return refOf(v.Ref);
  if ('Fn::GetAtt' in v) return arnOf(v['Fn::GetAtt'][0], v['Fn::GetAtt'][1]);
  if ('Fn::Join' in v) return (resolve(v['Fn::Join'][1]) as string[]).join(v['Fn::Join'][0]);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
}

const functionIdOf = (name: string): string => functionIdIn(resources, name);

/** The identity policies of `name`'s role, resolved. */
function policiesOf(name: string) {
  const roleId = resources[functionIdOf(name)]?.Properties.Role['Fn::GetAtt'][0];
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
    .map(([id, r]) => ({ name: id, policy: resolve(r.Properties.PolicyDocument) }));
}

const tableIdOf = (table: TableName) =>
  Object.keys(resources).find(
    (id) => resources[id]?.Type === 'AWS::DynamoDB::GlobalTable' && id.startsWith(`State${table}`),
  ) as string;

async function decide(name: string, action: string, resource: string): Promise<string> {
  const response = await runSimulation(
    {
      identityPolicies: policiesOf(name),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: `arn:aws:iam::${ACCOUNT}:role/${name}`,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: {},
      },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])('the role of %s', (name) => {
  const declared = Object.entries(FUNCTIONS[name].tables) as [TableName, TableAccess][];

  it('is allowed every DynamoDB action its registry entry declares, and reads on each index', async () => {
    for (const [table, access] of declared) {
      const arn = arnOf(tableIdOf(table), 'Arn');
      for (const action of TABLE_ACTIONS[access])
        expect([action, await decide(name, action, arn)]).toEqual([action, 'Allowed']);
      const indexes = [...TABLES[table].globalIndexes, ...TABLES[table].localIndexes];
      if (TABLE_ACTIONS[access].includes('dynamodb:Query'))
        for (const index of indexes)
          expect(await decide(name, 'dynamodb:Query', `${arn}/index/${index.indexName}`)).toBe('Allowed');
    }
  });

  it('is denied an action it does not declare, and any action on a table it does not declare', async () => {
    for (const [table, access] of declared) {
      const arn = arnOf(tableIdOf(table), 'Arn');
      for (const action of ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:DeleteTable']) {
        if (TABLE_ACTIONS[access].includes(action)) continue;
        expect([action, await decide(name, action, arn)]).toEqual([action, 'ImplicitlyDenied']);
      }
    }
    for (const table of Object.keys(TABLES) as TableName[]) {
      if (table in FUNCTIONS[name].tables) continue;
      expect([table, await decide(name, 'dynamodb:GetItem', arnOf(tableIdOf(table), 'Arn'))]).toEqual([
        table,
        'ImplicitlyDenied',
      ]);
    }
  });
});

describe('the network-interface permissions of the functions in the VPC', () => {
  const ec2 = (account: string, resource: string) => `arn:aws:ec2:${REGION}:${account}:${resource}`;

  it('let the node poller, not a hook function, make its network interfaces in its own subnet and security group only, whichever account shares them', async () => {
    for (const [resource, expected] of [
      [ec2(ACCOUNT, 'network-interface/eni-0123456789abcdef0'), 'Allowed'],
      [ec2(ACCOUNT, `subnet/${SUBNET}`), 'Allowed'],
      [ec2('222222222222', `subnet/${SUBNET}`), 'Allowed'],
      [ec2(ACCOUNT, `security-group/${SECURITY_GROUP}`), 'Allowed'],
      [ec2(ACCOUNT, 'subnet/subnet-0aaaaaaaaaaaaaaaa'), 'ImplicitlyDenied'],
      [ec2(ACCOUNT, 'security-group/sg-0aaaaaaaaaaaaaaaa'), 'ImplicitlyDenied'],
      [`arn:aws:ec2:us-east-1:${ACCOUNT}:network-interface/eni-0123456789abcdef0`, 'ImplicitlyDenied'],
    ] as const)
      expect([resource, await decide('node-poller', 'ec2:CreateNetworkInterface', resource)]).toEqual([
        resource,
        expected,
      ]);
    expect(
      await decide('node-poller', 'ec2:DeleteNetworkInterface', ec2(ACCOUNT, 'network-interface/eni-1')),
    ).toBe('Allowed');
    expect(await decide('node-poller', 'ec2:DescribeNetworkInterfaces', '*')).toBe('Allowed');
    expect(await decide('node-poller', 'ec2:CreateSecurityGroup', ec2(ACCOUNT, 'security-group/*'))).toBe(
      'ImplicitlyDenied',
    );
    // The hook functions stay outside any VPC: none of this is theirs.
    expect(await decide('connect', 'ec2:CreateNetworkInterface', ec2(ACCOUNT, `subnet/${SUBNET}`))).toBe(
      'ImplicitlyDenied',
    );
  });
});
