import type middy from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MalformedJsonError, UnsupportedMediaTypeError } from '../errors.ts';

const parser = httpJsonBodyParser();

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number(error.statusCode)
    : undefined;
}

/**
 * Parses the JSON body with middy's `http-json-body-parser` (which also refuses `__proto__` keys)
 * and translates its errors into ours: 415 for a content type other than JSON, 400 for a body that
 * is not JSON. After it, `event.body` holds the parsed value.
 */
export function jsonBody(): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const jsonBodyBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = async (request) => {
    try {
      await parser.before?.(request as never);
    } catch (error) {
      if (statusOf(error) === 415)
        throw new UnsupportedMediaTypeError(request.event.headers?.['content-type']);
      const detail = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new MalformedJsonError(`body is not valid JSON: ${detail}`, error);
    }
  };
  return { before: jsonBodyBefore };
}
