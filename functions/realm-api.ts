/**
 * `POST /api/<realm>`: the realms of the monitoring API over REST (WCS OAM's, and session/list,
 * session/history), answering as WCS OAM does (reference §5.2): the request body is the realm's
 * payload, the answer `{status, reason, payload}` with that status. The caller presents the
 * monitoring API's token (`Authorization: Bearer`), in AWS the realtime token.
 *
 * `GET /console`: the live console, a page that holds no data and no secret (the operator gives it
 * the token in its URL, and it asks the realtime API for everything it shows), so it needs no token.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { apiHandler } from '#shared/http/api-handler.ts';
import { setting } from '#shared/kernel/config.ts';
import { consolePage } from '#shared/realtime/console-page.ts';
import { handleRealm } from '#shared/realtime/realms.ts';

/**
 * The most JSON one REST answer carries. A Lambda function's response is at most 6 MB, its body
 * counted as a JSON string (every quote escaped, up to twice the bytes): 2 MiB stays within it.
 * A page of the default size is a few tens of kilobytes; a list past this is cut with `more`.
 */
const MAX_REST_REPLY_BYTES = 2 * 1024 * 1024;

const realms = apiHandler({
  // OAM clients and browsers cannot sign requests: the monitoring API's token, as over STOMP.
  auth: 'token',
  // Every answer in OAM's shape, its errors (401, 413, 415, malformed JSON, 500) included.
  errors: 'oam',
  schema: z.record(z.string(), z.unknown()),
  handle: async (payload, event: APIGatewayProxyEventV2) => {
    const realm = event.rawPath;
    const reply = await handleRealm({ requestId: '', realm, payload }, MAX_REST_REPLY_BYTES);
    return { statusCode: reply.status, body: reply };
  },
});

let page: string | undefined;

/** The console page, made once: no caching by the browser, no referrer (its URL holds the token). */
async function consoleResponse(): Promise<APIGatewayProxyStructuredResultV2> {
  page ??= await consolePage(setting('REALTIME_URL') ?? '');
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self' wss: ws:; base-uri 'none'; frame-ancestors 'none'",
    },
    body: page,
  };
}

export const handler = async (event: APIGatewayProxyEventV2, context: Context) =>
  event.requestContext.http.method === 'GET' ? consoleResponse() : realms(event, context);
