/**
 * The adapter of the operator API functions (`POST /api/...`): the same middleware as the hooks
 * where it applies (logger, body size, JSON, schema, the one error handler), with the API's own
 * authentication in place of the hook signature.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { setting } from '../kernel/config.ts';
import { type FieldProblem, HookError, ValidationError } from '../kernel/errors.ts';
import { lambdaContext } from '../kernel/logger.ts';
import { flushMetrics, METRIC, metrics } from '../kernel/metrics.ts';
import { type ApiAuthMode, apiAuth } from './middleware/api-auth.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { errorHandler, jsonResponse } from './middleware/error-handler.ts';
import { jsonBody } from './middleware/json-body.ts';
import { validateBody, validatedBodyOf } from './middleware/validate-body.ts';

const limitBytes = setting('API_BODY_LIMIT_BYTES');

export interface ApiAnswer {
  readonly statusCode?: number;
  readonly body: unknown;
}

/**
 * How a route's errors are written: `hook`, as every hook and operator route answers them
 * (`{error, message, details?}`); `oam`, as WCS OAM answers (reference §5.2): `{status, reason}`,
 * `status` the HTTP status. An OAM client reads `status` and `reason` of every answer, so the realm
 * routes answer their 401, 413, 415, malformed JSON and 500 that way too.
 */
export type ApiErrorShape = 'hook' | 'oam';

/** A validation's problems as a realm's reason names them: `field: problem; ...`, the body itself `payload`. */
const reasonOf = (problems: readonly FieldProblem[]) =>
  problems.map((p) => `${p.field || 'payload'}: ${p.problem}`).join('; ');

/**
 * Rewrites the answer the error handler made (it runs before this, and logs and counts the error)
 * into OAM's `{status, reason}`, with the same HTTP status: a client mistake's reason is its
 * message; ours says only to try again, with the request id, never the error's own text.
 */
function oamErrorShape(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const oamErrorShapeOnError: middy.MiddlewareFn<
    APIGatewayProxyEventV2,
    APIGatewayProxyStructuredResultV2
  > = (request) => {
    const { error } = request;
    const status = request.response?.statusCode ?? 500;
    const reason =
      error instanceof ValidationError
        ? reasonOf(error.details as FieldProblem[])
        : error instanceof HookError
          ? error.message
          : `the request could not be served; try again (request ${request.context.awsRequestId})`;
    request.response = jsonResponse(status, { status, reason });
  };
  return { onError: oamErrorShapeOnError };
}

export function apiHandler<Schema extends z.ZodMiniType>(options: {
  readonly schema: Schema;
  /** Called with the validated body, and the event for what the body does not say (the path). */
  readonly handle: (body: z.infer<Schema>, event: APIGatewayProxyEventV2) => Promise<ApiAnswer>;
  /** Who may call it (`middleware/api-auth.ts`); default `iam`. */
  readonly auth?: ApiAuthMode;
  /** How its errors are written; default `hook`. */
  readonly errors?: ApiErrorShape;
}) {
  return (
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
      .use(lambdaContext())
      .use(flushMetrics())
      // The flush at the end of the previous invocation emptied the dimensions.
      .use({ before: ({ event }) => void metrics.addDimension('route', event.routeKey) })
      .use(apiAuth(options.auth))
      .use(bodyLimit({ limitBytes }))
      .use(jsonBody())
      .use(validateBody(options.schema))
      // middy runs error handlers last-registered first: this one rewrites what errorHandler made.
      .use(options.errors === 'oam' ? [oamErrorShape()] : [])
      .use(errorHandler())
      .handler(async (event) => {
        const answer = await options.handle(validatedBodyOf<z.infer<Schema>>(event), event);
        metrics.addMetric(METRIC.apiRequests, MetricUnit.Count, 1);
        return jsonResponse(answer.statusCode ?? 200, answer.body);
      })
  );
}
