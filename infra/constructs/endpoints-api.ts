import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  type HttpApi,
  HttpMethod,
  type WebSocketApi,
  type WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  OriginRequestPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { ENDPOINT_CODE_CHARS } from '#shared/state/endpoints.ts';
import { controlTower } from '../control-tower.ts';
import { type DeclaredResources, HookFunction } from './hook-function.ts';
import { lambdaWebSocketApi } from './lambda-websocket-api.ts';
import { nagPseudo } from './nag.ts';
import { type NodeNetwork, placeNodeCaller } from './node-network.ts';

export interface EndpointsApiProps {
  /** The hook API, which also carries the operator API (`/api/endpoints`, IAM-authorized). */
  readonly api: HttpApi;
  readonly resources: DeclaredResources;
  /** The WCS REST API credentials: `sendMessage` with `wcs` reaches the user's WCS sessions too. */
  readonly wcsRestCredentials: ISecret;
  readonly logRetention: RetentionDays;
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The Lambda functions an endpoint may name as its logic (ARN templates, `*` any characters).
   * Default: the functions named `wcs-endpoint-*` in the stack's account and region.
   */
  readonly logicFunctions?: readonly string[];
  /** What the stage's access logs need first: the account's API Gateway CloudWatch Logs role. */
  readonly accountLogsRole: IDependable;
  /**
   * The team's VPC, to reach nodes at private addresses; the functions run in it only when it
   * reaches the WebSocket management API (egress `nat`). Default: outside any VPC.
   */
  readonly network?: NodeNetwork;
  /**
   * A CloudFront distribution giving the `/ws/<code>` URLs. Default true; false (an account where
   * CloudFront is not yet allowed) leaves user agents the direct `/ws?endpoint=<code>` URLs.
   */
  readonly edge?: boolean;
}

const SOCKET_FUNCTIONS = ['endpoint-connect', 'endpoint-message', 'endpoint-disconnect'] as const;

/** The stage: user agents reach it through CloudFront at `/ws/<code>`, or directly at `/ws?endpoint=<code>`. */
export const ENDPOINTS_STAGE = 'ws';

/**
 * The CloudFront function in front of the WebSocket API: API Gateway routes a WebSocket API by
 * stage only, so `/ws/<code>` becomes `/<stage>?endpoint=<code>` (the code as the local server
 * reads it from the same path); any other path is answered 404 at the edge.
 */
export function pathRewriteCode(stage: string): string {
  return `function handler(event) {
  var request = event.request;
  var match = request.uri.match(/^\\/ws\\/(${ENDPOINT_CODE_CHARS})\\/?$/);
  if (!match) return { statusCode: 404, statusDescription: 'Not Found' };
  request.querystring.endpoint = { value: match[1] };
  request.uri = '/${stage}';
  return request;
}
`;
}

/**
 * WebSocket endpoints for user agents (`docs/endpoints.md`) in AWS: an API Gateway WebSocket API
 * (`$connect` admits by the app's token and roles and runs the logic's `open`, `$default` a message,
 * `$disconnect` `error` and `close`), a CloudFront distribution giving it the `/ws/<code>` URLs
 * (unless `edge: false`), the operator routes `/api/endpoints...` on the hook API (IAM), and the
 * grants: posting to this API's connections, invoking the logic functions allowed.
 */
export class EndpointsApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** The CloudFront edge; undefined with `edge: false`. */
  readonly distribution?: Distribution;
  readonly functions: Readonly<Record<(typeof SOCKET_FUNCTIONS)[number] | 'endpoints-api', HookFunction>>;
  /** `wss://<distribution>/ws/`: a user agent appends the endpoint code. Undefined with `edge: false`. */
  readonly url?: string;

  constructor(scope: Construct, id: string, props: EndpointsApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logicFunctions = props.logicFunctions?.length
      ? props.logicFunctions
      : [`arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:wcs-endpoint-*`];
    this.functions = Object.fromEntries(
      [...SOCKET_FUNCTIONS, 'endpoints-api' as const].map((name) => {
        const fn = HookFunction.fromRegistry(this, name, {
          resources: props.resources,
          logRetention: props.logRetention,
          environment: { ...props.environment, ENDPOINT_LOGIC_FUNCTIONS: logicFunctions.join(',') },
          // The logic has at most 10 s (`timeoutMs`), and the messages it asks for are sent after it.
          timeout: Duration.seconds(20),
        });
        fn.bindSecret(props.wcsRestCredentials, 'WCS_REST_CREDENTIALS_ARN');
        // Every one posts to the API's connections (`posting` below): the management API is public.
        placeNodeCaller(fn, props.network, { publicApis: true });
        fn.addToRolePolicy(
          new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [...logicFunctions] }),
        );
        return [name, fn];
      }),
    ) as unknown as EndpointsApi['functions'];
    // `$connect` starts the delivery of what was kept for a user who was offline as an asynchronous
    // invocation of the message function, which runs once the connection is open.
    const deliverer = this.functions['endpoint-message'];
    this.functions['endpoint-connect'].addEnvironment('ENDPOINT_DELIVERY_FUNCTION', deliverer.functionName);
    // This function alone (not `grantInvoke`, which adds its versions: `<arn>:*`).
    this.functions['endpoint-connect'].addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [deliverer.functionArn] }),
    );

    ({ api: this.api, stage: this.stage } = lambdaWebSocketApi(this, {
      description: 'wcs-hooks WebSocket endpoints for user agents (the meveo model)',
      stageName: ENDPOINTS_STAGE,
      connect: this.functions['endpoint-connect'],
      disconnect: this.functions['endpoint-disconnect'],
      message: this.functions['endpoint-message'],
      posting: Object.values(this.functions),
      managementUrlEnv: 'ENDPOINTS_ENDPOINT',
      logRetention: props.logRetention,
      accountLogsRole: props.accountLogsRole,
      extraLogFields: { disconnectStatusCode: '$context.disconnectStatusCode' },
    }));

    if (props.edge ?? true) {
      const rewrite = new EdgeFunction(this, 'PathRewrite', {
        code: FunctionCode.fromInline(pathRewriteCode(ENDPOINTS_STAGE)),
        runtime: FunctionRuntime.JS_2_0,
        comment: 'wcs-hooks endpoints: /ws/<code> to the WebSocket API stage with ?endpoint=<code>',
      });
      this.distribution = new Distribution(this, 'Edge', {
        comment: 'wcs-hooks WebSocket endpoints: wss://<this>/ws/<endpoint code>',
        defaultBehavior: {
          origin: new HttpOrigin(`${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // Every viewer header (the WebSocket handshake's, Origin) and the query string (?token=), but
          // not the Host: API Gateway answers only to its own.
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
      });
      this.url = `wss://${this.distribution.distributionDomainName}/ws/`;
      this.acknowledgeEdge(this.distribution);
    }

    const integration = new HttpLambdaIntegration('EndpointsIntegration', this.functions['endpoints-api']);
    const authorizer = new HttpIamAuthorizer();
    for (const [path, methods] of [
      ['/api/endpoints', [HttpMethod.GET]],
      ['/api/endpoints/{code}', [HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE]],
      ['/api/endpoints/{code}/messages', [HttpMethod.GET, HttpMethod.POST]],
      ['/api/endpoints/{code}/presence', [HttpMethod.GET]],
    ] as const) {
      props.api.addRoutes({ path, methods: [...methods], integration, authorizer });
    }

    this.acknowledge(logicFunctions);
  }

  /** Every finding that does not apply, and why. */
  private acknowledge(logicFunctions: readonly string[]): void {
    const stack = Stack.of(this);
    const { partition, region, account } = nagPseudo(this);
    const logicShown = logicFunctions.map((arn) =>
      arn.replace(stack.partition, partition).replace(stack.region, region).replace(stack.account, account),
    );
    // The roles are the functions' siblings: acknowledged here, for these grants only.
    Validations.of(this).acknowledge(
      ...logicShown.map((arn) => ({
        id: `AwsSolutions-IAM5[Resource::${arn}]`,
        reason:
          'An endpoint names its logic function at run time (npm run cli -- endpoints put); the grant is limited to the functions endpointLogicFunctions allows.',
      })),
    );
    const socketAuthorization =
      "Browsers cannot sign WebSocket upgrades; $connect verifies the app's token (?token=, the JWT rules of WCS connect) and the endpoint's roles, and $default and $disconnect reach only connections $connect admitted.";
    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG4', reason: socketAuthorization },
      { id: controlTower('api_gw_v2_authorization_type_configured_check'), reason: socketAuthorization },
    );
  }

  /** The edge's findings that do not apply, and why. */
  private acknowledgeEdge(distribution: Distribution): void {
    const edge = 'The distribution only rewrites /ws/<code> for the WebSocket API and caches nothing';
    const ownCertificate = `${edge}; it uses the default CloudFront certificate: put a custom domain with its certificate and TLSv1.2_2021 in front for production (docs/endpoints.md).`;
    Validations.of(distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: `${edge}; who may connect is decided by tokens, not by country.` },
      {
        id: 'AwsSolutions-CFR2',
        reason: `${edge}; every connection is authenticated and rate-limited by the endpoint functions.`,
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: `${edge}; every connection is logged in the WebSocket stage's access logs.`,
      },
      { id: 'AwsSolutions-CFR4', reason: ownCertificate },
      {
        id: controlTower('cloudfront_access_logs_enabled_check'),
        reason: `${edge}; every connection is logged in the WebSocket stage's access logs.`,
      },
      { id: controlTower('cloudfront_custom_ssl_certificate_check'), reason: ownCertificate },
      { id: controlTower('cloudfront_sni_enabled_check'), reason: ownCertificate },
      { id: controlTower('cloudfront_security_policy_check'), reason: ownCertificate },
      {
        id: controlTower('cloudfront_default_root_object_configured_check'),
        reason: `${edge}; it serves no objects.`,
      },
      {
        id: controlTower('cloudfront_origin_failover_enabled_check'),
        reason: `${edge}; its one origin is the regional WebSocket API (a WebSocket cannot fail over mid-connection).`,
      },
    );
  }
}
