/**
 * The adapter of the operator API functions (`POST /api/...`): the same middleware as the hooks
 * where it applies (logger, body size, JSON, schema, the one error handler), with the API's own
 * authentication in place of the hook signature.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { METRIC, metrics } from '../kernel/metrics.ts';
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

export function apiHandler<Schema extends z.ZodMiniType>(options: {
  readonly schema: Schema;
  /** Called with the validated body, and the event for what the body does not say (the path). */
  readonly handle: (body: z.infer<Schema>, event: APIGatewayProxyEventV2) => Promise<ApiAnswer>;
  /** Who may call it (`middleware/api-auth.ts`); default `iam`. */
  readonly auth?: ApiAuthMode;
}) {
  return (
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(logMetrics(metrics))
      // Dimensions belong to this invocation only (a warm function keeps the emitter between calls).
      .use({
        before: ({ event }) => {
          metrics.clearDimensions();
          metrics.addDimension('route', event.routeKey);
        },
      })
      .use(apiAuth(options.auth))
      .use(bodyLimit({ limitBytes }))
      .use(jsonBody())
      .use(validateBody(options.schema))
      .use(errorHandler())
      .handler(async (event) => {
        const answer = await options.handle(validatedBodyOf<z.infer<Schema>>(event), event);
        metrics.addMetric(METRIC.apiRequests, MetricUnit.Count, 1);
        return jsonResponse(answer.statusCode ?? 200, answer.body);
      })
  );
}
