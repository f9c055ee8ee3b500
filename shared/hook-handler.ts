/**
 * The adapter every hook function is built with: an API Gateway HTTP API (payload v2) event in,
 * WCS's answer out, with the middleware chain in the order the concerns must run:
 *
 *   logger context → HMAC signature (raw body) → body size → JSON → schema → log keys → handler
 *                                                                           ↘ error handler (last)
 *
 * A handler receives the validated body and returns nothing (the body is mirrored, as WCS expects
 * of every method, reference §0 "Mirror rule") or the fields it changes.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { DEFAULTS, integerEnv } from './config.ts';
import { UnknownRouteError } from './errors.ts';
import { findHook } from './hooks.ts';
import { logger } from './logger.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { errorHandler, jsonResponse } from './middleware/error-handler.ts';
import { jsonBody } from './middleware/json-body.ts';
import { rawBodyOf } from './middleware/raw-body.ts';
import { validateBody, validatedBodyOf } from './middleware/validate-body.ts';
import { wcsSignature } from './middleware/wcs-signature.ts';
import { hookSecrets } from './secrets.ts';

const limitBytes = integerEnv('HOOK_BODY_LIMIT_BYTES', DEFAULTS.hookBodyLimitBytes);

/** One hook call, decoded: what a handler in `functions/` works with. */
export interface HookInvocation<Body> {
  /** The method name as WCS sent it (the last element of the hook URL). */
  readonly method: string;
  /** The body, validated against the handler's schema. */
  readonly body: Body;
  /** The exact bytes WCS sent. */
  readonly rawBody: Buffer;
  /** When this backend received the hook. */
  readonly receivedAt: Date;
}

/** What a handler answers: nothing (mirror the body) or fields to add to or change in the mirror. */
export type HookAnswer = undefined | { readonly fields?: Record<string, unknown> };

export interface WcsHookOptions<Schema extends z.ZodType> {
  /** The method this function serves; omitted for the catch-all, which takes it from the path. */
  readonly method?: string;
  readonly schema: Schema;
  readonly handle: (hook: HookInvocation<z.infer<Schema>>) => Promise<HookAnswer>;
}

function methodOf(event: APIGatewayProxyEventV2, fixed: string | undefined): string {
  if (fixed) return fixed;
  const method = event.pathParameters?.method ?? event.rawPath?.split('/').pop() ?? '';
  if (!findHook(method)) throw new UnknownRouteError(`"${method}" is not a WCS hook method name`);
  return method;
}

const LOG_KEYS = ['nodeId', 'appKey', 'sessionId', 'mediaSessionId'] as const;

/** Builds the Lambda handler for one hook method (or, without `method`, for the catch-all). */
export function wcsHook<Schema extends z.ZodType>(options: WcsHookOptions<Schema>) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(wcsSignature({ secrets: hookSecrets }))
    .use(bodyLimit({ limitBytes }))
    .use(jsonBody())
    .use(validateBody(options.schema))
    .use(errorHandler())
    .handler(async (event) => {
      const receivedAt = new Date();
      const method = methodOf(event, options.method);
      // The JSON middleware replaced the string body with the parsed object.
      const mirror = event.body as unknown as Record<string, unknown>;
      for (const key of LOG_KEYS) {
        if (typeof mirror[key] === 'string') logger.appendKeys({ [key]: mirror[key] });
      }
      logger.appendKeys({ method });
      const answer = await options.handle({
        method,
        body: validatedBodyOf<z.infer<Schema>>(event),
        rawBody: rawBodyOf(event),
        receivedAt,
      });
      logger.info('hook answered', { statusCode: 200, durationMs: Date.now() - receivedAt.getTime() });
      return jsonResponse(200, { ...mirror, ...answer?.fields });
    });
}
