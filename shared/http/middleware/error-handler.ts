import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HookError } from '../../kernel/errors.ts';
import { logger } from '../../kernel/logger.ts';
import { METRIC, metrics } from '../../kernel/metrics.ts';
import { withSourceStack } from '../../kernel/source-stack.ts';

/** A JSON answer, as WCS requires (`Content-Type: application/json`, reference §0). */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * The one place errors become answers. A `HookError` is the client's mistake and answers its status
 * with `{ error, message, details? }`; anything else is ours: logged with its stack, answered 500
 * with a generic message and the request id, never the error's own text. The stack is logged in
 * source positions (`withSourceStack`: the bundle's maps, read only when an error is logged).
 */
export function errorHandler(): middy.MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2
> {
  const errorHandlerOnError: middy.MiddlewareFn<
    APIGatewayProxyEventV2,
    APIGatewayProxyStructuredResultV2
  > = async (request) => {
    const { error } = request;
    if (error instanceof HookError) {
      logger.warn('hook refused', { statusCode: error.statusCode, error: error.code, reason: error.message });
      metrics.addDimension('error', error.code);
      metrics.addMetric(METRIC.rejected, MetricUnit.Count, 1);
      request.response = jsonResponse(error.statusCode, {
        error: error.code,
        message: error.message,
        ...(error.details !== undefined && { details: error.details }),
      });
      return;
    }
    logger.error('hook failed', await withSourceStack(error as Error));
    metrics.addMetric(METRIC.errors, MetricUnit.Count, 1);
    request.response = jsonResponse(500, {
      error: 'InternalError',
      message: 'the hook could not be processed; it is safe to retry',
      requestId: request.context.awsRequestId,
    });
  };
  return { onError: errorHandlerOnError };
}
