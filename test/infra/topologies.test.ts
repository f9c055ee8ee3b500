/**
 * Where the functions run, and so which WCS nodes the stack can reach (docs/deploy.md, "Reaching the
 * WCS nodes"): without a VPC every function runs outside any VPC; with the team's VPC the functions
 * that call WCS nodes run in its subnets with its security groups, reaching AWS through NAT or through
 * VPC endpoints the stack makes, while the hook path stays outside. Checked on the synthesized
 * templates, with a concrete account and without one; the checks at synthesis (cdk-nag, Control
 * Tower) pass for each. These apps skip bundling: they are about the template, not the code.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnVPCEndpoint } from 'aws-cdk-lib/aws-ec2';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ArtifactMetadataEntryType } from 'aws-cdk-lib/cloud-assembly-schema';
import { buildApp } from '../../infra/build-app.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const ENV = { account: '111111111111', region: 'eu-west-1' };
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
const SECURITY_GROUPS = ['sg-0123456789abcdef0', 'sg-89abcdef'];
const VPC_ID = 'vpc-0123456789abcdef0';
const ROUTE_TABLES = ['rtb-0123456789abcdef0'];
// The subnets as `-c` gives them (comma-separated text), the security groups as cdk.json does (a list).
const NAT = { vpcSubnetIds: SUBNETS.join(','), vpcSecurityGroupIds: SECURITY_GROUPS };
const ENDPOINTS = { ...NAT, vpcEgress: 'endpoints', vpcId: VPC_ID, vpcRouteTableIds: ROUTE_TABLES.join(',') };

/** The functions that call WCS nodes: every one holds the WCS REST credentials. */
const NODE_CALLERS = [
  'data-send-api',
  'endpoint-connect',
  'endpoint-disconnect',
  'endpoint-message',
  'endpoints-api',
  'node-poller',
  'sender',
];
const ENDPOINT_FUNCTIONS = NODE_CALLERS.filter((name) => name.startsWith('endpoint'));

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

/**
 * A production stack synthesized for a concrete account (every check at synthesis run: a finding
 * would throw here): its resources, its functions by registry name (the custom resource's by id).
 */
function synthesized(context: Record<string, unknown>) {
  const { app, stack } = buildApp({ context: { ...NO_BUNDLING, stage: 'prod', ...context } }, ENV);
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const functions = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([id, r]) => ({
      id,
      name: String(r.Properties.Environment?.Variables?.WCS_HOOKS_FUNCTION ?? id),
      r,
    }));
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  /** The statements of the policies attached to `fn`'s role. */
  const statementsOf = (fn: Resource) =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) =>
        p.Properties.Roles.some((role: any) => role.Ref === fn.Properties.Role['Fn::GetAtt'][0]),
      )
      .flatMap(([id, p]) =>
        (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map(
          (statement) => ({ policy: id, actions: [statement.Action].flat(), resource: statement.Resource }),
        ),
      );
  return { app, stack, template, resources, functions, ofType, statementsOf };
}

/** The functions that hold the WCS REST credentials, by registry name. */
const credentialHolders = (s: ReturnType<typeof synthesized>) =>
  s.functions
    .filter((f) => f.r.Properties.Environment?.Variables?.WCS_REST_CREDENTIALS_ARN)
    .map((f) => f.name);

const inVpc = (s: ReturnType<typeof synthesized>) =>
  s.functions.filter((f) => f.r.Properties.VpcConfig).map((f) => f.name);

/** The topology said at synthesis: the stack's info annotation (`cdk deploy` prints it). */
const topologyOf = (stack: Stack) =>
  stack.node.metadata
    .filter(
      (entry) =>
        entry.type === ArtifactMetadataEntryType.INFO && /^wcs-hooks topology/.test(String(entry.data)),
    )
    .map((entry) => String(entry.data));

let none: ReturnType<typeof synthesized>;
let nat: ReturnType<typeof synthesized>;
let endpoints: ReturnType<typeof synthesized>;

beforeAll(() => {
  none = synthesized({});
  nat = synthesized(NAT);
  endpoints = synthesized(ENDPOINTS);
}, 300_000);

describe('without a VPC', () => {
  it('runs every function outside any VPC, with no network permission or resource, and says at synthesis that nodes at private addresses are unreachable, not lost, and how to reach them', () => {
    expect(inVpc(none)).toEqual([]);
    for (const fn of none.functions)
      expect(
        none
          .statementsOf(fn.r)
          .flatMap((s) => s.actions)
          .filter((a) => a.startsWith('ec2:')),
      ).toEqual([]);
    expect(Object.values(none.resources).filter((r) => r.Type.startsWith('AWS::EC2::'))).toEqual([]);
    const [topology, ...more] = topologyOf(none.stack);
    expect(more).toEqual([]);
    expect(topology).toMatch(/outside any VPC/);
    expect(topology).toMatch(/private address.*unreachable.*WcsNodeUnreachable/s);
    expect(topology).toMatch(/vpcSubnetIds=.*vpcSecurityGroupIds=/);
  });
});

describe('in the team’s VPC, reaching AWS through NAT', () => {
  it('runs exactly the functions that call WCS nodes (those holding the WCS REST credentials) in the given subnets, with the given security groups, and every other function outside', () => {
    expect(credentialHolders(nat).sort()).toEqual(NODE_CALLERS);
    expect(inVpc(nat).sort()).toEqual(NODE_CALLERS);
    for (const fn of nat.functions.filter((f) => NODE_CALLERS.includes(f.name)))
      expect(fn.r.Properties.VpcConfig).toEqual({ SubnetIds: SUBNETS, SecurityGroupIds: SECURITY_GROUPS });
    // The hook functions, the realtime and realm functions, the spill replayer, the custom resource's two.
    const outside = nat.functions.filter((f) => !NODE_CALLERS.includes(f.name));
    expect(outside.map((f) => f.name)).toEqual(
      expect.arrayContaining(['connect', 'stream-status-event', 'echo']),
    );
    for (const fn of outside) expect([fn.name, fn.r.Properties.VpcConfig]).toEqual([fn.name, undefined]);
  });

  it('lets Lambda manage their network interfaces in those subnets and security groups only, granted before each function is made', () => {
    // The Region and account are concrete, so cdk.json's feature flags write the partition out.
    const arn = (kind: string, account: string) => (id: string) =>
      `arn:aws:ec2:eu-west-1:${account}:${kind}/${id}`;
    const interfaces = arn('network-interface', ENV.account)('*');
    for (const fn of nat.functions) {
      const statements = nat.statementsOf(fn.r).filter((s) => s.actions.some((a) => a.startsWith('ec2:')));
      if (!NODE_CALLERS.includes(fn.name)) {
        expect([fn.name, statements]).toEqual([fn.name, []]);
        continue;
      }
      const granted = (action: string) =>
        statements.filter((s) => s.actions.includes(action)).flatMap((s) => [s.resource].flat());
      expect(granted('ec2:CreateNetworkInterface').sort()).toEqual(
        [
          interfaces,
          ...SUBNETS.map(arn('subnet', '*')),
          ...SECURITY_GROUPS.map(arn('security-group', '*')),
        ].sort(),
      );
      for (const action of [
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ])
        expect([action, granted(action)]).toEqual([action, [interfaces]]);
      for (const action of ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'])
        expect([action, granted(action)]).toEqual([action, ['*']]);
      // Nothing else of EC2, and not the AWS managed policy (its logs:* on every log group).
      expect(new Set(statements.flatMap((s) => s.actions).filter((a) => a.startsWith('ec2:')))).toEqual(
        new Set([
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
        ]),
      );
      expect(JSON.stringify(nat.resources[fn.r.Properties.Role['Fn::GetAtt'][0]])).not.toContain(
        'ManagedPolicyArns',
      );
      // Lambda checks the role's permissions when it makes the function: the policy comes first.
      for (const { policy } of statements) expect(fn.r.DependsOn).toContain(policy);
    }
  });

  it('makes no VPC endpoint and no security group, and says at synthesis which functions run in which subnets, and that the subnets need a NAT route', () => {
    expect(Object.values(nat.resources).filter((r) => r.Type.startsWith('AWS::EC2::'))).toEqual([]);
    const [topology] = topologyOf(nat.stack);
    expect(topology).toContain(SUBNETS.join(', '));
    expect(topology).toContain(SECURITY_GROUPS.join(', '));
    expect(topology).toMatch(/NAT/);
    expect(topology).toMatch(/hook functions .* outside any VPC/);
  });
});

describe('in the team’s VPC, reaching AWS through VPC endpoints the stack makes', () => {
  it('runs the node poller, the sender and the data-send API in the VPC; the endpoint functions, which post to the public WebSocket management API, outside', () => {
    expect(inVpc(endpoints).sort()).toEqual(
      NODE_CALLERS.filter((name) => !ENDPOINT_FUNCTIONS.includes(name)),
    );
    for (const fn of endpoints.functions.filter((f) => inVpc(endpoints).includes(f.name)))
      expect(fn.r.Properties.VpcConfig).toEqual({ SubnetIds: SUBNETS, SecurityGroupIds: SECURITY_GROUPS });
    // What they call besides WCS: DynamoDB, Secrets Manager, SQS; never Lambda or a WebSocket API.
    for (const fn of endpoints.functions.filter((f) => inVpc(endpoints).includes(f.name))) {
      const actions = endpoints.statementsOf(fn.r).flatMap((s) => s.actions);
      expect(actions.filter((a) => /^(lambda|execute-api):/.test(a))).toEqual([]);
    }
  });

  it('makes Secrets Manager and SQS interface endpoints in the subnets, with private DNS, open to HTTPS from the functions’ security groups only', () => {
    const interfaces = endpoints
      .ofType('AWS::EC2::VPCEndpoint')
      .filter(([, e]) => e.Properties.VpcEndpointType === 'Interface');
    expect(interfaces.map(([, e]) => e.Properties.ServiceName).sort()).toEqual([
      'com.amazonaws.eu-west-1.secretsmanager',
      'com.amazonaws.eu-west-1.sqs',
    ]);
    const [[groupId, group] = []] = endpoints.ofType('AWS::EC2::SecurityGroup');
    for (const [, endpoint] of interfaces)
      expect(endpoint.Properties).toMatchObject({
        VpcId: VPC_ID,
        SubnetIds: SUBNETS,
        PrivateDnsEnabled: true,
        SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
      });
    expect(group?.Properties.VpcId).toBe(VPC_ID);
    expect(group?.Properties.SecurityGroupIngress).toEqual(
      SECURITY_GROUPS.map((source) =>
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          SourceSecurityGroupId: source,
        }),
      ),
    );
    expect(JSON.stringify(group?.Properties.SecurityGroupIngress)).not.toContain('CidrIp');
  });

  it('adds a DynamoDB gateway endpoint to the route tables given, and none when none are given (the VPC has its own)', () => {
    const gateways = (s: ReturnType<typeof synthesized>) =>
      s.ofType('AWS::EC2::VPCEndpoint').filter(([, e]) => e.Properties.VpcEndpointType === 'Gateway');
    expect(gateways(endpoints).map(([, e]) => e.Properties)).toEqual([
      expect.objectContaining({
        VpcId: VPC_ID,
        RouteTableIds: ROUTE_TABLES,
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
      }),
    ]);
    const { vpcRouteTableIds: _, ...withoutRouteTables } = ENDPOINTS;
    const { stack } = buildApp({ context: { ...NO_BUNDLING, ...withoutRouteTables } }, ENV);
    const made = stack.node.findAll().filter((c): c is CfnVPCEndpoint => c instanceof CfnVPCEndpoint);
    expect(made.map((endpoint) => endpoint.vpcEndpointType).sort()).toEqual(['Interface', 'Interface']);
    expect(topologyOf(stack).join()).toMatch(/VPC must have a DynamoDB gateway endpoint/);
  });

  it('says at synthesis what runs where and which endpoints it makes', () => {
    const [topology] = topologyOf(endpoints.stack);
    expect(topology).toContain(VPC_ID);
    expect(topology).toMatch(/Secrets Manager and SQS interface endpoints/);
    expect(topology).toMatch(/endpoint functions run outside any VPC/);
  });
});

describe('the checks at synthesis', () => {
  it('pass (cdk-nag, Control Tower) for a production stage in each topology, with a concrete account and region', () => {
    // Synthesized above with every check: a finding would have thrown there.
    for (const { app } of [none, nat, endpoints]) expect(() => app.synth()).not.toThrow();
    expect([inVpc(nat).length, inVpc(endpoints).length]).toEqual([NODE_CALLERS.length, 3]);
  });

  it.each([
    ['through NAT', NAT],
    ['through endpoints', ENDPOINTS],
  ])(
    'pass for a production stage in the VPC %s without an account (cdk synth without credentials)',
    (_case, context) => {
      const { app, stack } = buildApp({ context: { ...NO_BUNDLING, stage: 'prod', ...context } });
      expect(() => app.synth()).not.toThrow();
      const inTheVpc = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).filter(
        (fn) => fn.Properties.VpcConfig,
      );
      expect(inTheVpc.length).toBeGreaterThan(0);
    },
    120_000,
  );

  it('meet Control Tower’s LAMBDA_INSIDE_VPC for the functions in the VPC rather than acknowledge it: one taken out fails synthesis', () => {
    const { app, stack } = buildApp({ context: { ...NO_BUNDLING, ...NAT } }, ENV);
    const poller = stack.node
      .findAll()
      .find((c): c is CfnFunction => c instanceof CfnFunction && c.node.path.includes('node-poller'));
    (poller as CfnFunction).vpcConfig = undefined;
    expect(() => (app as App).synth()).toThrow(/CT\.LAMBDA\.PR\.3/);
  }, 120_000);
});

describe('the VPC context', () => {
  it.each([
    [{ vpcSubnetIds: SUBNETS }, /"vpcSubnetIds" and "vpcSecurityGroupIds" go together/],
    [{ vpcSecurityGroupIds: SECURITY_GROUPS }, /"vpcSubnetIds" and "vpcSecurityGroupIds" go together/],
    [{ ...NAT, vpcSubnetIds: 'subnet-12345' }, /vpcSubnetIds.*"subnet-12345" is not an id/],
    [
      { ...NAT, vpcSecurityGroupIds: 'subnet-0123456789abcdef0' },
      /vpcSecurityGroupIds.*is not an id of the form sg-/,
    ],
    [{ ...NAT, vpcSecurityGroupIds: 'sg-01234567,sg-01234567' }, /vpcSecurityGroupIds" names an id twice/],
    [
      {
        ...NAT,
        vpcSecurityGroupIds: [
          'sg-00000001',
          'sg-00000002',
          'sg-00000003',
          'sg-00000004',
          'sg-00000005',
          'sg-00000006',
        ],
      },
      /vpcSecurityGroupIds" is 6; at most 5/,
    ],
    [{ ...NAT, vpcEgress: 'internet' }, /"vpcEgress" must be "nat" or "endpoints"/],
    [{ vpcEgress: 'nat' }, /"vpcEgress" needs a VPC/],
    [{ vpcId: VPC_ID }, /"vpcId" needs a VPC/],
    [{ ...NAT, vpcId: VPC_ID }, /"vpcId" is read only with vpcEgress=endpoints/],
    [{ ...NAT, vpcRouteTableIds: ROUTE_TABLES }, /"vpcRouteTableIds" is read only with vpcEgress=endpoints/],
    [{ ...NAT, vpcEgress: 'endpoints' }, /"vpcId" is needed with vpcEgress=endpoints/],
    [{ ...ENDPOINTS, vpcRouteTableIds: 'rtb-x' }, /vpcRouteTableIds.*is not an id of the form rtb-/],
  ])('%j fails synthesis with the reason', (context, message) => {
    expect(() => buildApp({ context: { ...NO_BUNDLING, ...context } })).toThrow(message);
  });
});
