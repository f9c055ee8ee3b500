/**
 * The operator API adapter (`shared/http/api-handler.ts`): how its errors are written, OAM's way for
 * the realm routes (`{status, reason}`, the HTTP status the same) and the hooks' way for the rest.
 */
import { describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { apiHandler } from '../../shared/http/api-handler.ts';

const event = (body: string) =>
  ({
    routeKey: 'POST /api/stream/list',
    rawPath: '/api/stream/list',
    headers: { 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    // Signed by IAM, as API Gateway reports it: the auth step lets it through.
    requestContext: { http: { method: 'POST' }, authorizer: { iam: {} } },
  }) as never;
const context = {
  awsRequestId: 'req-1',
  functionName: 'f',
  functionVersion: '1',
  memoryLimitInMB: '128',
} as never;

describe('an operator API route', () => {
  const failing = (errors?: 'oam') =>
    apiHandler({
      schema: z.record(z.string(), z.unknown()),
      ...(errors && { errors }),
      handle: async () => {
        throw new Error('the table is gone: arn:aws:dynamodb:secret');
      },
    });

  it("written OAM's way, answers our failure 500 {status, reason} with the request id, never the error's text", async () => {
    const answer = (await failing('oam')(event('{}'), context)) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({
      status: 500,
      reason: 'the request could not be served; try again (request req-1)',
    });
  });

  it("written OAM's way, names each bad field in the reason of a 400", async () => {
    const handler = apiHandler({
      schema: z.object({ app: z.string() }),
      errors: 'oam',
      handle: async () => ({ body: {} }),
    });
    const answer = (await handler(event('{"app":1}'), context)) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ status: 400, reason: expect.stringMatching(/^app: /) });
  });

  it('written the hooks’ way by default: {error, message}', async () => {
    const answer = (await failing()(event('{}'), context)) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'InternalError', requestId: 'req-1' });
  });
});
