import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PayloadTooLargeError } from '../../kernel/errors.ts';
import { rawBodyOf } from './raw-body.ts';

export interface BodyLimitOptions {
  /** The largest body accepted, in bytes. */
  limitBytes: number;
}

/** Answers 413 for a body over `limitBytes`, before it is parsed or stored. */
export function bodyLimit(options: BodyLimitOptions): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const bodyLimitBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = (request) => {
    const sizeBytes = rawBodyOf(request.event).length;
    if (sizeBytes > options.limitBytes) throw new PayloadTooLargeError(sizeBytes, options.limitBytes);
  };
  return { before: bodyLimitBefore };
}
