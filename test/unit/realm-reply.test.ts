/**
 * A realm's answer within what its transport carries (`fitReply` in `shared/realtime/realms.ts`):
 * as it is when it fits, a list cut at a whole item with `more`, else a 400 that says why.
 */
import { describe, expect, it } from '@jest/globals';
import { fitReply } from '../../shared/realtime/realms.ts';

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, name: 'x'.repeat(90) }));
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('an answer', () => {
  it('that fits is left as it is', () => {
    const reply = { status: 200, reason: 'SUCCESS', payload: items(3), total: 3, more: false };
    expect(fitReply(reply, 10_000)).toBe(reply);
  });

  it('a list too large is cut after the last whole item that fits, with more and its total', () => {
    const reply = { status: 200, reason: 'SUCCESS', payload: items(100), total: 500, more: true };
    const fitted = fitReply(reply, 2_000);
    expect(bytes(fitted)).toBeLessThanOrEqual(2_000);
    expect(fitted).toMatchObject({ status: 200, total: 500, more: true });
    const kept = (fitted.payload as unknown[]).length;
    expect(kept).toBeGreaterThan(0);
    // One item more would not have fitted.
    expect(bytes({ ...fitted, payload: items(kept + 1) })).toBeGreaterThan(2_000);
  });

  it('that cannot be cut to fit (one item too large, or not a list) is a 400 saying how large it was', () => {
    for (const payload of [[{ name: 'x'.repeat(5_000) }], { history: 'x'.repeat(5_000) }])
      expect(fitReply({ status: 200, reason: 'SUCCESS', payload }, 1_000)).toEqual({
        status: 400,
        reason: expect.stringMatching(/^the answer is \d+ bytes, more than the 1000 one answer may carry/),
      });
  });
});
