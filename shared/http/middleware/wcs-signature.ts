import { createHmac } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { safeEqual } from '../../kernel/digest.ts';
import { SignatureMismatchError } from '../../kernel/errors.ts';
import { rawBodyOf } from './raw-body.ts';

export interface WcsSignatureOptions {
  /**
   * The accepted secrets (WCS's `rest_hook_secret_key`). More than one during a rotation: WCS nodes
   * still on the old key and those already on the new one are both accepted. An empty list turns
   * verification off, which is WCS's default (`rest_hook_send_hash=false`).
   */
  secrets: () => Promise<readonly string[]> | readonly string[];
}

const PREFIX = 'WCS ';

/** The value WCS puts in `Authorization` for `body` under `secret`: `WCS <hex HMAC-MD5>` (reference §0.2). */
export function signWcsBody(body: Buffer | string, secret: string): string {
  return PREFIX + createHmac('md5', secret).update(body).digest('hex');
}

/**
 * True when `authorization` is `WCS <hex>` and the hex is the HMAC-MD5 of `body` under one of
 * `secrets`. Compared in constant time over every secret, so the answer's timing tells an attacker
 * neither how much of a guess matched nor which secret did.
 */
export function verifyWcsSignature(
  body: Buffer,
  authorization: string | undefined,
  secrets: readonly string[],
): boolean {
  if (!authorization?.startsWith(PREFIX)) return false;
  const presented = authorization.slice(PREFIX.length).trim().toLowerCase();
  let matched = false;
  for (const secret of secrets) {
    // Every secret is compared, even after a match: stopping early would tell which one matched.
    const equal = safeEqual(presented, createHmac('md5', secret).update(body).digest('hex'));
    matched ||= equal;
  }
  return matched;
}

/** The events whose signature this middleware verified (a hook's signature vouches for its `nodeId`). */
const verified = new WeakSet<object>();

/**
 * True when `event`'s signature was verified against a configured secret; false when none is
 * configured (nothing was checked): what lets a hook vouch for the node it names
 * (`sender/wcs-nodes.ts`, `NODE_DISCOVERY=signed`).
 */
export const signatureVerified = (event: object): boolean => verified.has(event);

/**
 * Rejects, with 403, a hook whose `Authorization: WCS <hmac>` does not match the raw body, before
 * anything parses the body. Reference §0.2: "backend recomputes HMAC-MD5(body) and must return
 * 403 Forbidden if it differs".
 */
export function wcsSignature(options: WcsSignatureOptions): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const wcsSignatureBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = async (request) => {
    const secrets = await options.secrets();
    if (secrets.length === 0) return;
    const authorization = request.event.headers?.authorization;
    if (authorization === undefined) {
      throw new SignatureMismatchError(
        'Authorization header missing; expected "WCS <hex HMAC-MD5 of the body>"',
      );
    }
    if (!verifyWcsSignature(rawBodyOf(request.event), authorization, secrets)) {
      throw new SignatureMismatchError('Authorization does not match the body under any configured secret');
    }
    verified.add(request.event);
  };
  return { before: wcsSignatureBefore };
}
