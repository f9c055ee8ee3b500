/**
 * Where the functions that call WCS nodes run. Without a VPC they run where every Lambda function
 * runs and reach a node only at a public address or at the URL an operator registered (`nodes put`):
 * a node at a private address is unreachable (the poller marks it so and alarms
 * `WcsNodeUnreachable`; nothing it holds is ended while its hooks arrive). With the team's VPC
 * (`vpcSubnetIds`, `vpcSecurityGroupIds`) they run in its subnets and reach what those subnets route
 * to. docs/deploy.md, "Reaching the WCS nodes", has the pictures.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import {
  CfnSecurityGroup,
  CfnVPCEndpoint,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
} from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import { controlTower } from '../control-tower.ts';
import type { HookFunction } from './hook-function.ts';
import { nagPseudo } from './nag.ts';

/**
 * How the subnets reach AWS: `nat`, through a NAT gateway the team runs (this stack makes nothing);
 * `endpoints`, through VPC endpoints this stack makes (no internet route needed).
 */
export type VpcEgress = 'nat' | 'endpoints';

export interface NodeNetworkProps {
  /** The subnets the functions run in: private subnets that route to the WCS nodes (Lambda gives its network interfaces no public address). */
  readonly subnetIds: readonly string[];
  /** The functions' security groups (at most 5): they must allow outbound TCP to the nodes' REST port (8081) and HTTPS (443) to AWS. */
  readonly securityGroupIds: readonly string[];
  /** How the subnets reach AWS. Default `nat`. */
  readonly egress?: VpcEgress;
  /** The VPC of the subnets, where the endpoints are made. Required with egress `endpoints`; not read otherwise. */
  readonly vpcId?: string;
  /** Route tables of the subnets, given a DynamoDB gateway endpoint. Default: none (the VPC has one). Read only with egress `endpoints`. */
  readonly routeTableIds?: readonly string[];
}

/** The AWS services the functions in the VPC call, besides DynamoDB (a gateway endpoint) and the WCS nodes: `endpoints` makes an interface endpoint for each. */
const INTERFACE_ENDPOINTS = {
  SecretsManager: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Sqs: InterfaceVpcEndpointAwsService.SQS,
} as const;

/** Control Tower's LAMBDA_INSIDE_VPC (CT.LAMBDA.PR.3), acknowledged for one function or construct with why it runs outside. */
export function runsOutsideVpc(scope: IConstruct, reason: string): void {
  Validations.of(scope).acknowledge({ id: controlTower('lambda_inside_vpc_check'), reason });
}

const NO_VPC_REASON =
  'No VPC was given (vpcSubnetIds, vpcSecurityGroupIds): it reaches WCS nodes at public addresses or registered URLs only; a node at a private address is unreachable (WcsNodeUnreachable), not lost (docs/deploy.md, "Reaching the WCS nodes").';

const NO_NAT_REASON =
  'It posts to the WebSocket management API of a public API Gateway API, which no VPC endpoint serves (an execute-api endpoint reaches private APIs only, and a WebSocket API cannot be private), and the subnets have no NAT (vpcEgress=endpoints); its sends to WCS sessions that cannot connect are queued for the sender, which runs in the VPC.';

/**
 * The team's VPC for the functions that call WCS nodes: `place` runs a function in its subnets (its
 * `VpcConfig`, and the network-interface permissions Lambda uses with the function's role); with
 * egress `endpoints`, the interface endpoints (Secrets Manager, SQS) in those subnets, their
 * security group, and a DynamoDB gateway endpoint on the route tables given. Nothing is looked up:
 * synthesis needs no credentials.
 */
export class NodeNetwork extends Construct {
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly egress: VpcEgress;
  /** The interface endpoints' security group (egress `endpoints`). */
  readonly endpointsSecurityGroup?: CfnSecurityGroup;
  private readonly eniStatements: PolicyStatement[];
  private readonly eniFindings: { id: string; reason: string }[];

  constructor(scope: Construct, id: string, props: NodeNetworkProps) {
    super(scope, id);
    this.subnetIds = props.subnetIds;
    this.securityGroupIds = props.securityGroupIds;
    this.egress = props.egress ?? 'nat';
    ({ statements: this.eniStatements, findings: this.eniFindings } = networkInterfaceGrants(this, props));
    if (this.egress === 'endpoints') this.endpointsSecurityGroup = this.makeEndpoints(props);
  }

  /** Whether a function here reaches public endpoints no VPC endpoint serves (the WebSocket management API): only through NAT. */
  get reachesPublicApis(): boolean {
    return this.egress === 'nat';
  }

  /**
   * Runs `fn` in the subnets with the security groups, and lets Lambda manage its network
   * interfaces with the function's role (the statements of AWSLambdaVPCAccessExecutionRole, its
   * logs aside, limited to these subnets and security groups). The function already waits for its
   * role's policy, so the permissions are there when Lambda checks them at creation.
   */
  place(fn: HookFunction): void {
    // The `vpc` prop of the L2 wants an IVpc, and an IVpc without a lookup (Vpc.fromLookup needs
    // credentials at synthesis) means inventing its Availability Zones; Lambda needs only the ids.
    (fn.node.defaultChild as CfnFunction).vpcConfig = {
      subnetIds: [...this.subnetIds],
      securityGroupIds: [...this.securityGroupIds],
    };
    for (const statement of this.eniStatements) fn.addToRolePolicy(statement);
    if (fn.role) Validations.of(fn.role).acknowledge(...this.eniFindings);
  }

  private makeEndpoints(props: NodeNetworkProps): CfnSecurityGroup {
    const vpcId = props.vpcId;
    if (!vpcId) throw new Error('NodeNetwork: egress "endpoints" needs vpcId');
    const securityGroup = new CfnSecurityGroup(this, 'EndpointsSecurityGroup', {
      vpcId,
      groupDescription: 'wcs-hooks VPC endpoints: HTTPS from the functions that call WCS nodes',
      securityGroupIngress: this.securityGroupIds.map((source) => ({
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        sourceSecurityGroupId: source,
        description: `HTTPS from the functions' security group ${source}`,
      })),
      // An endpoint only answers: no egress (the CDK's own form of "no rule": one that matches nothing).
      securityGroupEgress: [
        {
          ipProtocol: 'icmp',
          fromPort: 252,
          toPort: 86,
          cidrIp: '255.255.255.255/32',
          description: 'No traffic',
        },
      ],
    });
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      new CfnVPCEndpoint(this, `${name}Endpoint`, {
        vpcId,
        serviceName: service.name,
        vpcEndpointType: 'Interface',
        // The SDK's usual host names resolve to the endpoint in the VPC: no configuration in the code.
        privateDnsEnabled: true,
        subnetIds: [...this.subnetIds],
        securityGroupIds: [securityGroup.attrGroupId],
      });
    }
    // DynamoDB's interface endpoints have no private DNS; its gateway endpoint is free and needs
    // only a route in each route table.
    if (props.routeTableIds && props.routeTableIds.length > 0) {
      new CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
        vpcId,
        serviceName: GatewayVpcEndpointAwsService.DYNAMODB.name,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...props.routeTableIds],
      });
    }
    return securityGroup;
  }
}

/**
 * The permissions Lambda uses, with a function's role, to manage its network interfaces in the
 * subnets, and the cdk-nag findings they raise (each with its reason), written as cdk-nag shows
 * them for this environment (`nagPseudo`).
 */
function networkInterfaceGrants(scope: Construct, props: NodeNetworkProps) {
  const stack = Stack.of(scope);
  const shown = nagPseudo(scope);
  // Subnets and security groups may be shared with this account by another (a shared VPC): any owner.
  const arns = ({ partition, region, account }: { partition: string; region: string; account: string }) => ({
    interfaces: `arn:${partition}:ec2:${region}:${account}:network-interface/*`,
    subnets: props.subnetIds.map((id) => `arn:${partition}:ec2:${region}:*:subnet/${id}`),
    securityGroups: props.securityGroupIds.map(
      (id) => `arn:${partition}:ec2:${region}:*:security-group/${id}`,
    ),
  });
  const real = arns({ partition: stack.partition, region: stack.region, account: stack.account });
  const statements = [
    new PolicyStatement({
      actions: ['ec2:CreateNetworkInterface'],
      resources: [real.interfaces, ...real.subnets, ...real.securityGroups],
    }),
    new PolicyStatement({
      actions: [
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: [real.interfaces],
    }),
    // Describe actions take no resource: IAM allows them on "*" only.
    new PolicyStatement({
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    }),
  ];
  const nag = arns(shown);
  const findings = [
    {
      id: `AwsSolutions-IAM5[Resource::${nag.interfaces}]`,
      reason:
        'Lambda names the network interfaces it makes for the function only when it makes them; the grant is limited to network interfaces of this account and Region.',
    },
    ...[...nag.subnets, ...nag.securityGroups].map((arn) => ({
      id: `AwsSolutions-IAM5[Resource::${arn}]`,
      reason:
        "The function's own subnet or security group (vpcSubnetIds, vpcSecurityGroupIds), of whichever account owns it (a shared VPC's subnets belong to another).",
    })),
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets take no resource (IAM allows them on * only); Lambda reads its network interfaces and the subnets with them.',
    },
  ];
  return { statements, findings };
}

/**
 * Runs `fn`, a function that calls WCS nodes, in `network` when there is one and it reaches what
 * `fn` needs (`needsPublicApis`: the WebSocket management API), and otherwise acknowledges, with why,
 * that it runs outside any VPC.
 */
export function placeNodeCaller(
  fn: HookFunction,
  network: NodeNetwork | undefined,
  needs: { readonly publicApis?: boolean } = {},
): void {
  if (!network) runsOutsideVpc(fn, NO_VPC_REASON);
  else if (needs.publicApis && !network.reachesPublicApis) runsOutsideVpc(fn, NO_NAT_REASON);
  else network.place(fn);
}

/**
 * What the stack's network means, in words: printed at synthesis (an info annotation, shown by
 * `cdk deploy`, `cdk synth` and `cdk diff`), so that whoever deploys knows which WCS nodes the stack
 * can reach.
 */
export function describeTopology(vpc: NodeNetworkProps | undefined): string {
  if (!vpc)
    return [
      'wcs-hooks topology: every function runs outside any VPC.',
      'It reaches WCS nodes only at public addresses or at the URLs registered with `nodes put`.',
      'A node at a private address (10.x, 172.16-31.x, 192.168.x) is unreachable: the poller marks it unreachable and alarms WcsNodeUnreachable (what it holds is not ended while its hooks arrive), and data sent to its clients fails.',
      'To reach nodes at private addresses, deploy with -c vpcSubnetIds=... -c vpcSecurityGroupIds=... (docs/deploy.md, "Reaching the WCS nodes").',
    ].join('\n');
  const inVpc = `subnets ${vpc.subnetIds.join(', ')} with security groups ${vpc.securityGroupIds.join(', ')}`;
  if ((vpc.egress ?? 'nat') === 'nat')
    return [
      `wcs-hooks topology: the functions that call WCS nodes (node poller, sender, data-send API, endpoint functions) run in the VPC: ${inVpc}.`,
      'They reach the nodes the subnets route to, private addresses included, and AWS (DynamoDB, Secrets Manager, SQS, Lambda, the WebSocket management API) through NAT (vpcEgress=nat): the subnets must route 0.0.0.0/0 to a NAT gateway.',
      'The hook functions and the other functions run outside any VPC.',
    ].join('\n');
  const dynamo = vpc.routeTableIds?.length
    ? `a DynamoDB gateway endpoint on ${vpc.routeTableIds.join(', ')}`
    : 'no DynamoDB endpoint: the VPC must have a DynamoDB gateway endpoint on the subnets’ route tables';
  return [
    `wcs-hooks topology: the node poller, the sender and the data-send API run in the VPC ${vpc.vpcId}: ${inVpc}.`,
    `They reach the nodes the subnets route to, and AWS through VPC endpoints this stack makes (vpcEgress=endpoints): Secrets Manager and SQS interface endpoints in those subnets, and ${dynamo}.`,
    'The endpoint functions run outside any VPC (the WebSocket management API needs NAT); their sends that cannot reach a node are queued for the sender. The hook functions and the other functions run outside any VPC too.',
  ].join('\n');
}
