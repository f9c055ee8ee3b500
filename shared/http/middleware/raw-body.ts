import type { APIGatewayProxyEventV2 } from 'aws-lambda';

const cache = new WeakMap<APIGatewayProxyEventV2, Buffer>();

/**
 * The bytes WCS sent, exactly: the HMAC is computed over these (reference §0.2), so nothing may
 * parse, trim or re-encode the body before the signature check. API Gateway hands a non-text body
 * over base64-encoded; a text body as the string it decoded.
 */
export function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  let raw = cache.get(event);
  if (!raw) {
    const body = event.body ?? '';
    raw = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
    cache.set(event, raw);
  }
  return raw;
}
