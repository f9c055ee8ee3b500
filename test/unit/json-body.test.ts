import { describe, expect, it } from '@jest/globals';
import { nestingDepth } from '../../shared/http/middleware/json-body.ts';

describe('nestingDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestingDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(nestingDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(nestingDepth('{"a":"\\"[[["}')).toBe(1);
    expect(nestingDepth('42')).toBe(0);
  });

  it('stops counting once past the limit', () => {
    expect(nestingDepth('['.repeat(1_000_000), 100)).toBe(101);
  });
});
