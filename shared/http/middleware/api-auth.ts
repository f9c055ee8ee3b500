import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { setting } from '../../kernel/config.ts';
import { safeEqual } from '../../kernel/digest.ts';
import { UnauthorizedError } from '../../kernel/errors.ts';
import { isRealtimeToken } from '../../kernel/operator-token.ts';

/**
 * Who may call an operator API route: `iam`, a SigV4-signed caller in AWS (API Gateway verified it
 * and says so in the request context); `token`, a caller presenting the monitoring API's token
 * (`Authorization: Bearer`: the realtime token in AWS), as OAM clients and browsers can. Locally both
 * take `Authorization: Bearer <API_TOKEN>`; without `API_TOKEN` configured the API admits nobody.
 */
export type ApiAuthMode = 'iam' | 'token';

export function apiAuth(mode: ApiAuthMode = 'iam'): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const token = setting('API_TOKEN') ?? '';
  const apiAuthBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = async (request) => {
    const { event } = request;
    const context = event.requestContext as { authorizer?: { iam?: unknown } };
    if (context.authorizer?.iam) return;
    if (mode === 'token') {
      const header = event.headers?.authorization ?? '';
      if (!header.startsWith('Bearer ') || !(await isRealtimeToken(header.slice(7))))
        throw new UnauthorizedError('Authorization: Bearer <the monitoring API token> required');
      return;
    }
    if (token === '')
      throw new UnauthorizedError('the API needs IAM auth (AWS) or API_TOKEN (local runtime)');
    const header = event.headers?.authorization ?? '';
    if (!header.startsWith('Bearer ') || !safeEqual(header.slice(7), token)) {
      throw new UnauthorizedError('Authorization: Bearer <API_TOKEN> required');
    }
  };
  return { before: apiAuthBefore };
}
