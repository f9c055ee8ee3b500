import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { type CfnStage, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IDependable } from 'constructs';
import type { HookFunction } from './hook-function.ts';
import { nagPseudo } from './nag.ts';

export interface LambdaWebSocketApiProps {
  readonly description: string;
  readonly stageName: string;
  /** The functions of `$connect`, `$disconnect` and `$default`. */
  readonly connect: HookFunction;
  readonly disconnect: HookFunction;
  readonly message: HookFunction;
  /** The functions that post to (and close) connections: granted the management API, told its URL. */
  readonly posting: readonly HookFunction[];
  /** The variable that carries the management API's URL to `posting`. */
  readonly managementUrlEnv: string;
  readonly logRetention: RetentionDays;
  /** What the stage's access logs need first: the account's API Gateway CloudWatch Logs role. */
  readonly accountLogsRole: IDependable;
  /** Fields of each access log line besides the request, connection, event, route, status, IP and time. */
  readonly extraLogFields?: Readonly<Record<string, string>>;
}

/**
 * An API Gateway WebSocket API whose three routes are Lambda functions, in `scope` (construct ids
 * `Api`, `Stage`, `AccessLogs`), with its stage's JSON access logs and the grant to post to its
 * connections; the realtime API and the endpoints API are each one. The grant names connections by
 * id, known only at run time, so its cdk-nag finding is acknowledged at `scope`, where the
 * functions' roles are.
 */
export function lambdaWebSocketApi(
  scope: Construct,
  props: LambdaWebSocketApiProps,
): { api: WebSocketApi; stage: WebSocketStage } {
  const api = new WebSocketApi(scope, 'Api', {
    description: props.description,
    connectRouteOptions: { integration: new WebSocketLambdaIntegration('ConnectIntegration', props.connect) },
    disconnectRouteOptions: {
      integration: new WebSocketLambdaIntegration('DisconnectIntegration', props.disconnect),
    },
    defaultRouteOptions: { integration: new WebSocketLambdaIntegration('MessageIntegration', props.message) },
  });
  const stage = new WebSocketStage(scope, 'Stage', {
    webSocketApi: api,
    stageName: props.stageName,
    autoDeploy: true,
  });
  // A WebSocket stage logs only once the account has an API Gateway CloudWatch Logs role.
  stage.node.addDependency(props.accountLogsRole);
  const accessLogs = new LogGroup(scope, 'AccessLogs', { retention: props.logRetention });
  (stage.node.defaultChild as CfnStage).accessLogSettings = {
    destinationArn: accessLogs.logGroupArn,
    format: JSON.stringify({
      requestId: '$context.requestId',
      connectionId: '$context.connectionId',
      eventType: '$context.eventType',
      routeKey: '$context.routeKey',
      status: '$context.status',
      ip: '$context.identity.sourceIp',
      time: '$context.requestTime',
      ...props.extraLogFields,
    }),
  };
  for (const fn of props.posting) {
    stage.grantManagementApiAccess(fn);
    fn.addEnvironment(props.managementUrlEnv, stage.callbackUrl);
  }
  // cdk-nag names the resource as the template has it: with a concrete account and region (what
  // `cdk deploy` synthesizes) they and the partition are literals, otherwise placeholders.
  const { partition, region, account } = nagPseudo(scope);
  const apiId = Stack.of(scope).getLogicalId(api.node.defaultChild as CfnElement);
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${partition}:execute-api:${region}:${account}:<${apiId}>/${props.stageName}/*/@connections/*]`,
    reason:
      'PostToConnection and DeleteConnection address connections by id, known only at run time; the grant is limited to this API and stage.',
  });
  return { api, stage };
}
