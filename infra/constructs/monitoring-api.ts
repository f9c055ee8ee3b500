import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { REALMS } from '#shared/kernel/registry.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';

/** Where the live console is served, on the hook API. */
export const CONSOLE_PATH = '/console';

export interface MonitoringApiProps {
  readonly api: HttpApi;
  /** The tables the realms read, as the registry declares them. */
  readonly resources: DeclaredResources;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /** The monitoring API's token (the realtime token): what a caller presents as `Authorization: Bearer`. */
  readonly token: ISecret;
}

/**
 * The monitoring realms over REST (`POST /api/stream/list`, ...), answering as WCS OAM does, on the
 * hook API, for callers presenting the monitoring API's token; and the live console (`GET /console`),
 * which the same function serves. The same realms over STOMP are the realtime API's
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
    this.function.bindSecret(props.token, 'REALTIME_TOKEN_ARN');
    const integration = new HttpLambdaIntegration('RealmIntegration', this.function);
    // No AWS authorizer: OAM clients and browsers cannot sign requests. The function admits only the
    // monitoring API's token (Authorization: Bearer), as the realtime API's $connect does.
    for (const realm of REALMS) {
      props.api.addRoutes({ path: realm, methods: [HttpMethod.POST], integration });
    }
    // The live console: a page with no data and no secret (docs/realtime.md, "The live console").
    props.api.addRoutes({ path: CONSOLE_PATH, methods: [HttpMethod.GET], integration });
  }
}
