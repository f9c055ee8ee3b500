/**
 * Client-defined JSON (`custom`, a raw SDP when kept) is stored as text, up to a bound: an item is
 * at most 400 KB in DynamoDB, and one stream item can carry the `custom` of one hook and the SDP of
 * another. Past the bound only its size is kept, so a write can never fail for its content.
 */

import { setting } from '../kernel/config.ts';

/** Largest client text kept on an item, in UTF-8 bytes. */
export const MAX_CLIENT_TEXT_BYTES = 100 * 1024;

/**
 * `{[field]: text}` when the text fits, `{[field + 'OmittedBytes']: size}` when it does not;
 * nothing for `null` or `undefined`. `value` is JSON-encoded unless it is already text.
 */
export function storedText(
  field: string,
  value: unknown,
  asJson = true,
  maxBytes = MAX_CLIENT_TEXT_BYTES,
): Record<string, string | number> {
  if (value === undefined || value === null) return {};
  const text = asJson || typeof value !== 'string' ? JSON.stringify(value) : value;
  const bytes = Buffer.byteLength(text);
  return bytes <= Math.min(maxBytes, MAX_CLIENT_TEXT_BYTES)
    ? { [field]: text }
    : { [`${field}OmittedBytes`]: bytes };
}

/** A client's `custom` as stored on a session or stream item: within `MAX_STORED_CUSTOM_BYTES`. */
export const storedCustom = (custom: unknown) =>
  storedText('custom', custom, true, setting('MAX_STORED_CUSTOM_BYTES'));
