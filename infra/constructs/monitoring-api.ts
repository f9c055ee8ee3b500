import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REALMS } from '#shared/kernel/registry.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';

export interface MonitoringApiProps {
  readonly api: HttpApi;
  /** The tables the realms read, as the registry declares them. */
  readonly resources: DeclaredResources;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The monitoring realms over REST (`POST /api/stream/list`, ...), answering as WCS OAM does,
 * behind IAM authorization on the hook API. The same realms over STOMP are the realtime API's
 * (`realtime-api.ts`).
 */
export class MonitoringApi extends Construct {
  readonly function: HookFunction;

  constructor(scope: Construct, id: string, props: MonitoringApiProps) {
    super(scope, id);
    this.function = HookFunction.fromRegistry(this, 'realm-api', {
      resources: props.resources,
      logRetention: props.logRetention,
      environment: props.environment,
    });
    const integration = new HttpLambdaIntegration('RealmIntegration', this.function);
    const authorizer = new HttpIamAuthorizer();
    for (const realm of REALMS) {
      props.api.addRoutes({ path: realm, methods: [HttpMethod.POST], integration, authorizer });
    }
  }
}
