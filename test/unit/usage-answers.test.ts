/**
 * What a usage question may ask (`shared/state/usage-answers.ts`): its defaults, and the limits of
 * its range, by day (a year) and by hour (a month), in UTC days.
 */
import { describe, expect, it } from '@jest/globals';
import {
  InvalidUsageQuestionError,
  MAX_DAYS,
  MAX_HOUR_DAYS,
  usageQuestion,
} from '../../shared/state/usage-answers.ts';

const now = new Date('2026-12-07T23:59:00Z');

describe('usageQuestion', () => {
  it('asks for today by day when no day is given, and for one day when one is', () => {
    expect(usageQuestion({ app: 'a' }, now)).toEqual({
      app: 'a',
      from: '2026-12-07',
      to: '2026-12-07',
      by: 'day',
    });
    expect(usageQuestion({ app: 'a', from: '2026-11-01' }, now)).toMatchObject({
      from: '2026-11-01',
      to: '2026-11-01',
    });
    expect(usageQuestion({ app: 'a', to: '2026-11-30' }, now)).toMatchObject({
      from: '2026-11-30',
      to: '2026-11-30',
    });
  });

  it("asks for a stream's publishes by publish", () => {
    expect(usageQuestion({ app: 'a', stream: 'cam' }, now)).toMatchObject({ stream: 'cam', by: 'publish' });
  });

  it('takes a whole year by day, a leap year included, and no day more', () => {
    expect(MAX_DAYS).toBe(366);
    expect(usageQuestion({ app: 'a', from: '2028-01-01', to: '2028-12-31' }, now).to).toBe('2028-12-31');
    expect(usageQuestion({ app: 'a', from: '2026-01-01', to: '2026-12-31', by: 'stream' }, now).by).toBe(
      'stream',
    );
    expect(() => usageQuestion({ app: 'a', from: '2026-01-01', to: '2027-01-02' }, now)).toThrow(
      'from 2026-01-01 to 2027-01-02 is 367 days; by day at most 366 (a year)',
    );
  });

  it('takes a month by hour, and no day more', () => {
    expect(MAX_HOUR_DAYS).toBe(31);
    expect(usageQuestion({ app: 'a', from: '2026-12-01', to: '2026-12-31', by: 'hour' }, now).by).toBe(
      'hour',
    );
    expect(() => usageQuestion({ app: 'a', from: '2026-12-01', to: '2027-01-01', by: 'hour' }, now)).toThrow(
      InvalidUsageQuestionError,
    );
  });

  it.each([
    [{ app: ' ' }, 'an app is needed'],
    [{ app: 'a', from: '2026-1-01' }, 'from must be a UTC day as YYYY-MM-DD'],
    [{ app: 'a', from: '2026-11-01T00:00:00Z' }, 'from must be a UTC day as YYYY-MM-DD'],
    [{ app: 'a', to: '2026-04-31' }, 'to must be a UTC day as YYYY-MM-DD'],
    [{ app: 'a', from: '2026-11-02', to: '2026-11-01' }, 'the range is backwards'],
    [{ app: 'a', by: 'DAY' }, 'by must be day, hour, stream or publish'],
    [{ app: 'a', by: 'publish' }, 'by publish needs a stream name'],
    [{ app: 'a', stream: 'cam', by: 'hour' }, "a stream's usage is each of its publishes"],
    [{ app: 'a', stream: '' }, 'a stream name cannot be empty'],
  ])('refuses %j: %s', (request, message) => {
    expect(() => usageQuestion(request, now)).toThrow(message);
  });
});
