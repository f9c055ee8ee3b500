import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { type FieldProblem, ValidationError } from '../../kernel/errors.ts';

const validated = new WeakMap<APIGatewayProxyEventV2, unknown>();

/** The body as the schema parsed it; only defined after `validateBody` ran on `event`. */
export function validatedBodyOf<Body>(event: APIGatewayProxyEventV2): Body {
  return validated.get(event) as Body;
}

/** The zod issues as field problems, each naming the dotted path of the bad field. */
export function problemsOf(error: z.core.$ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), problem: issue.message }));
}

/**
 * Validates the parsed body against `schema` (zod) and answers 400 naming every bad field. Schemas
 * are loose objects: WCS releases add fields, and an unknown field is never an error. The parsed,
 * typed body is kept beside the event (`validatedBodyOf`) and replaces nothing: handlers mirror
 * what WCS sent, not what the schema kept.
 */
export function validateBody(schema: z.ZodMiniType): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const validateBodyBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = (request) => {
    const result = schema.safeParse(request.event.body);
    if (!result.success) throw new ValidationError(problemsOf(result.error));
    validated.set(request.event, result.data);
  };
  return { before: validateBodyBefore };
}
