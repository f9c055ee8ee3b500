import { type CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnLogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { HookFunction } from './hook-function.ts';
import { nagPseudo } from './nag.ts';

export interface ApiGatewayCloudWatchRoleProps {
  readonly logRetention: RetentionDays;
}

/**
 * The API Gateway CloudWatch Logs role of the account (a WebSocket stage cannot log without one),
 * provided without a manual step and without breaking an account that already has one: a role,
 * retained when the stack is deleted, and a custom resource that sets it as the account's only
 * where the account has none or names one that no longer exists
 * (`infra/custom-resources/api-gateway-account.ts`). A stage that logs depends on `resource`.
 */
export class ApiGatewayCloudWatchRole extends Construct {
  readonly role: Role;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ApiGatewayCloudWatchRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway pushes access and execution logs to CloudWatch Logs (account setting)',
      managedPolicies: [
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    // The account setting may outlive this stack (other APIs may rely on it): the role stays.
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const handler = new HookFunction(this, 'Handler', {
      entry: 'api-gateway-account',
      entryPath: 'infra/custom-resources/api-gateway-account.ts',
      description: "wcs-hooks: sets the account's API Gateway CloudWatch Logs role where it has none",
      logRetention: props.logRetention,
      // Up to about 4 minutes waiting for IAM to propagate a new role (`setAccountRole`).
      timeout: Duration.minutes(5),
    });
    handler.addToRolePolicy(
      new PolicyStatement({
        actions: ['apigateway:GET', 'apigateway:PATCH'],
        resources: [stack.formatArn({ service: 'apigateway', account: '', resource: '/account' })],
      }),
    );
    handler.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:GetRole'],
        resources: [stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' })],
      }),
    );
    handler.addToRolePolicy(
      new PolicyStatement({ actions: ['iam:PassRole'], resources: [this.role.roleArn] }),
    );
    const provider = new Provider(this, 'Provider', { onEventHandler: handler });
    // With cdk.json's `@aws-cdk/aws-lambda:useCdkManagedLogGroup`, the provider's own function gets a
    // log group CDK makes, kept two years: it keeps the stage's retention, as every other log group.
    for (const child of provider.node.findAll())
      if (child instanceof CfnLogGroup) child.retentionInDays = props.logRetention;
    const { partition, account } = nagPseudo(this);
    const handlerArn = Stack.of(this).getLogicalId(handler.node.defaultChild as CfnElement);
    // An AWS managed policy's ARN keeps the partition placeholder whatever the environment.
    const acknowledged = [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The policy AWS documents for the API Gateway account CloudWatch role: the role serves every API of the account and must reach the log groups API Gateway creates for each.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:iam::${account}:role/*]`,
        reason:
          'The role the account setting names is not known before deployment (another stack may have set it); only iam:GetRole, to tell whether it still exists.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "The CDK Provider framework's own function, whose role the CDK creates; it only invokes our handler.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${handlerArn}.Arn>:*]`,
        reason: "The CDK Provider framework's grant to invoke our handler, any of its versions.",
      },
    ];
    for (const finding of acknowledged) Validations.of(this).acknowledge(finding);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      properties: { RoleArn: this.role.roleArn },
    });
  }
}
