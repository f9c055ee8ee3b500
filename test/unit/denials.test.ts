import { describe, expect, it } from '@jest/globals';
import { denialEnd, InvalidDenialError } from '../../shared/state/denials.ts';

const now = new Date('2026-12-07T12:00:00.000Z');

describe('denialEnd', () => {
  it('is for good without until or for', () => {
    expect(denialEnd(undefined, undefined, now)).toBeUndefined();
  });

  it.each([
    ['90s', '2026-12-07T12:01:30.000Z'],
    ['30m', '2026-12-07T12:30:00.000Z'],
    ['2h', '2026-12-07T14:00:00.000Z'],
    ['7d', '2026-12-14T12:00:00.000Z'],
    ['2w', '2026-12-21T12:00:00.000Z'],
  ])('ends %s after now', (duration, end) => {
    expect(denialEnd(undefined, duration, now)?.toISOString()).toBe(end);
  });

  it('ends at an ISO date in the future', () => {
    expect(denialEnd('2027-01-01T00:00:00Z', undefined, now)?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it.each([
    ['2027-01-01T00:00:00Z', '1h', /not both/],
    ['tomorrow', undefined, /until must be an ISO date/],
    ['1700000000', undefined, /until must be an ISO date/],
    ['2026-12-07T12:00:00Z', undefined, /not in the future/],
    [undefined, '0h', /for must be a duration/],
    [undefined, '2 hours', /for must be a duration/],
    [undefined, '-5m', /for must be a duration/],
  ])('refuses until %p, for %p', (until, duration, message) => {
    expect(() => denialEnd(until, duration, now)).toThrow(InvalidDenialError);
    expect(() => denialEnd(until, duration, now)).toThrow(message);
  });
});
