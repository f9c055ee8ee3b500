/** Dotted paths into a hook body: where the token is read, and where the session record drops it. */
import { describe, expect, it } from '@jest/globals';
import { valueAt, withoutValueAt } from '../../shared/kernel/dotted-path.ts';

const body = { custom: { token: 't', auth: { jwt: 'j', room: 'r' } }, appKey: 'a' };

describe('valueAt', () => {
  it('reads a nested value, and undefined where the path runs out or meets a non-object', () => {
    expect(valueAt(body, 'custom.token')).toBe('t');
    expect(valueAt(body, 'custom.auth.jwt')).toBe('j');
    expect(valueAt(body, 'custom.missing.jwt')).toBeUndefined();
    expect(valueAt(body, 'appKey.length')).toBeUndefined();
  });
});

describe('withoutValueAt', () => {
  it('drops the value at the path from a copy, and leaves the original as it was', () => {
    expect(withoutValueAt(body.custom, 'auth.jwt')).toEqual({ token: 't', auth: { room: 'r' } });
    expect(withoutValueAt(body.custom, 'token')).toEqual({ auth: { jwt: 'j', room: 'r' } });
    expect(body.custom.auth.jwt).toBe('j');
  });

  it('returns an equal copy when the path leads nowhere', () => {
    expect(withoutValueAt(body.custom, 'nothing.here')).toEqual(body.custom);
  });
});
