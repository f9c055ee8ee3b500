import type middy from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { jsonContentTypePattern } from '@middy/util';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MalformedJsonError, UnsupportedMediaTypeError } from '../../kernel/errors.ts';

const parser = httpJsonBodyParser();

/**
 * What a text needs to hold for middy's parser to refuse a key in it (`__proto__`, or `constructor`
 * with a `prototype`): the key spelled out, or written with `\u` escapes. A text with none of these
 * cannot, and is parsed as it is.
 */
const MAY_HAVE_FORBIDDEN_KEY = /__proto__|"constructor"|\\u/;

/** Deepest nesting accepted. WCS's bodies are a few levels deep; clients' `custom` and payloads rarely pass ten. */
export const MAX_JSON_DEPTH = 100;

/**
 * The deepest nesting of `text`, counting brackets outside strings, stopping once past `limit`.
 * Written by hand because JSON.parse has no depth limit: it fails by exhausting the stack, and the
 * objects it does build can exhaust it again later (JSON.stringify, structuredClone).
 */
export function nestingDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number(error.statusCode)
    : undefined;
}

/**
 * Parses the JSON body with middy's `http-json-body-parser` (which also refuses `__proto__` keys)
 * and translates its errors into ours: 415 for a content type other than JSON, 400 for a body that
 * is not JSON. After it, `event.body` holds the parsed value (a `GET` or `DELETE` without a body keeps none).
 */
export function jsonBody(): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const jsonBodyBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = async (request) => {
    const { body, isBase64Encoded } = request.event;
    // A read or a removal (`GET`, `DELETE`) carries no body: nothing to parse, whatever its type.
    const method = request.event.requestContext?.http?.method;
    if ((method === 'GET' || method === 'DELETE') && !body) return;
    const text = isBase64Encoded && body ? Buffer.from(body, 'base64').toString('utf8') : (body ?? '');
    if (nestingDepth(text) > MAX_JSON_DEPTH) {
      throw new MalformedJsonError(`body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const headers = request.event.headers;
    const contentType = headers?.['content-type'] ?? headers?.['Content-Type'];
    if (
      body !== undefined &&
      jsonContentTypePattern.test(contentType ?? '') &&
      !MAY_HAVE_FORBIDDEN_KEY.test(text)
    ) {
      // No key the parser forbids can be in this text: a plain parse gives the same value, without
      // a reviver called for every key and value (the hook's most costly step after DynamoDB's).
      try {
        request.event.body = JSON.parse(text);
      } catch (error) {
        throw new MalformedJsonError(`body is not valid JSON: ${(error as Error).message}`, error);
      }
      return;
    }
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
