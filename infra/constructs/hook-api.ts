import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HANDLERS, type HandlerName, HOOKS, HOOKS_PATH } from '#shared/kernel/registry.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';

export interface HookApiProps {
  /** The tables and queues the handlers declare in the registry. */
  readonly resources: DeclaredResources;
  /** The hook HMAC secret; unset, hook signatures are not verified. */
  readonly hookSecret?: ISecret;
  readonly logRetention: RetentionDays;
  /** Steady-state requests per second across all routes. */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Browser origins allowed on the API (CORS: the REST realms, data/send); none by default. */
  readonly allowedOrigins?: readonly string[];
  /** Environment for every hook function (log level, retention, body limit). */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The hook API: an HTTP API with a `POST /hooks/<method>` route for every hook with a dedicated
 * handler, and the catch-all `POST /hooks/{method}` for the rest, all generated from the hook
 * registry. One function per handler; throttling and JSON access logs on the stage.
 */
export class HookApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Readonly<Record<HandlerName, HookFunction>>;
  readonly accessLogs: LogGroup;
  /** The URL to give WCS as the app's REST URL. */
  readonly hookUrl: string;

  constructor(scope: Construct, id: string, props: HookApiProps) {
    super(scope, id);
    this.functions = Object.fromEntries(
      (Object.keys(HANDLERS) as HandlerName[]).map((name) => {
        const fn = HookFunction.fromRegistry(this, name, {
          resources: props.resources,
          logRetention: props.logRetention,
          environment: props.environment,
        });
        if (props.hookSecret) fn.bindSecret(props.hookSecret, 'WCS_HOOK_SECRET_ARN');
        return [name, fn];
      }),
    ) as Record<HandlerName, HookFunction>;

    const origins = props.allowedOrigins ?? [];
    this.api = new HttpApi(this, 'Api', {
      description: 'wcs-hooks: Flashphoner WCS REST hooks',
      createDefaultStage: false,
      // OAM's access_control_allow_origin: browsers of these origins may call the REST realms.
      ...(origins.length > 0 && {
        corsPreflight: {
          allowOrigins: [...origins],
          allowMethods: [CorsHttpMethod.POST, CorsHttpMethod.OPTIONS],
          allowHeaders: [
            'authorization',
            'content-type',
            'x-amz-date',
            'x-amz-security-token',
            'x-requested-with',
          ],
          maxAge: Duration.minutes(10),
        },
      }),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // JSON, so that a metric filter can count throttled requests (`$.status = 429`).
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTime',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationLatency: '$context.integrationLatency',
            error: '$context.error.message',
          }),
        ),
      },
    });

    const integrations = new Map<HandlerName, HttpLambdaIntegration>();
    const integrationOf = (name: HandlerName) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${name}Integration`, this.functions[name]);
        integrations.set(name, integration);
      }
      return integration;
    };
    for (const hook of HOOKS.filter((h) => h.handler !== 'echo')) {
      this.api.addRoutes({
        path: `${HOOKS_PATH}/${hook.method}`,
        methods: [HttpMethod.POST],
        integration: integrationOf(hook.handler),
      });
    }
    this.api.addRoutes({
      path: `${HOOKS_PATH}/{method}`,
      methods: [HttpMethod.POST],
      integration: integrationOf('echo'),
    });
    this.hookUrl = `${this.api.apiEndpoint}${HOOKS_PATH}`;
  }
}
