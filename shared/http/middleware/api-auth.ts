import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { setting } from '../../kernel/config.ts';
import { safeEqual } from '../../kernel/digest.ts';
import { UnauthorizedError } from '../../kernel/errors.ts';

/**
 * Authenticates a call of the operator API. In AWS, API Gateway has already verified the caller's
 * SigV4 signature (IAM authorization) and says so in the request context. Locally, the caller must
 * send `Authorization: Bearer <API_TOKEN>`; without `API_TOKEN` configured the API admits nobody.
 */
export function apiAuth(): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const token = setting('API_TOKEN') ?? '';
  const apiAuthBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = (request) => {
    const { event } = request;
    const context = event.requestContext as { authorizer?: { iam?: unknown } };
    if (context.authorizer?.iam) return;
    if (token === '')
      throw new UnauthorizedError('the API needs IAM auth (AWS) or API_TOKEN (local runtime)');
    const header = event.headers?.authorization ?? '';
    if (!header.startsWith('Bearer ') || !safeEqual(header.slice(7), token)) {
      throw new UnauthorizedError('Authorization: Bearer <API_TOKEN> required');
    }
  };
  return { before: apiAuthBefore };
}
