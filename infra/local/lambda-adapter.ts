/**
 * Turns a Node HTTP request into the event API Gateway's HTTP API (payload format 2.0) gives a
 * Lambda function, and the function's result back into an HTTP answer, so the local runtime runs
 * the very handlers that are deployed. Written by hand: the AWS libraries offer no such adapter.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** API Gateway HTTP APIs accept bodies up to 10 MB; the local server reads no more than that. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export type LambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Reads the whole body, or `undefined` once it passes `limitBytes` (the rest is discarded). */
export async function readBody(
  request: IncomingMessage,
  limitBytes = MAX_REQUEST_BYTES,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The request's headers as API Gateway passes them: lower-case names, repeated values joined by commas. */
export function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

const TEXT_TYPES = /^(application\/([a-z0-9.+-]+\+)?json|text\/)/i;

/**
 * The v2 event for `request`. As API Gateway does, a text body that is valid UTF-8 is passed as a
 * string and anything else base64-encoded, so the raw bytes reach the HMAC check unchanged.
 */
export function toHttpApiEvent(
  request: IncomingMessage,
  body: Buffer,
  route: { routeKey: string; pathParameters?: Record<string, string> },
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers = headersOf(request);
  const asText = TEXT_TYPES.test(headers['content-type'] ?? '') && isUtf8(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    // As API Gateway's payload 2.0: repeated parameters joined with commas.
    ...(url.search && {
      queryStringParameters: Object.fromEntries(
        [...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k).join(',')]),
      ),
    }),
    ...(route.pathParameters && { pathParameters: route.pathParameters }),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : asText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !asText,
  } as APIGatewayProxyEventV2;
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A Lambda context for a local invocation of `functionName`. */
export function localContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Writes a Lambda result as the HTTP answer, as API Gateway does. */
export function writeResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body =
    result.body === undefined
      ? ''
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : result.body;
  response.writeHead(result.statusCode ?? 200, {
    ...result.headers,
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** A JSON answer written directly by the local server (routing errors, health). */
export function writeJson(response: ServerResponse, statusCode: number, body: unknown): void {
  writeResult(response, {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
