import { describe, expect, it } from '@jest/globals';
import { DeadlineExceededError, isDependencyFailure, withinBudget } from '../../shared/kernel/budget.ts';

describe('isDependencyFailure', () => {
  it.each([
    ['a deadline', new DeadlineExceededError(10)],
    ['a server fault', Object.assign(new Error('x'), { $fault: 'server' })],
    ['throttling', Object.assign(new Error('x'), { name: 'ThrottlingException' })],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'a wrapped network error',
      new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1'),
    ],
    [
      'a cause that is one',
      new Error('outer', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    ],
  ])('is true for %s', (_case, error) => {
    expect(isDependencyFailure(error)).toBe(true);
  });

  it.each([
    [
      'a validation error (our bug)',
      Object.assign(new Error('The number of conditions on the keys is invalid'), {
        name: 'ValidationException',
        $fault: 'client',
      }),
    ],
    ['a type error', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('is false for %s', (_case, error) => {
    expect(isDependencyFailure(error)).toBe(false);
  });
});

describe('withinBudget', () => {
  it('answers with the work when it finishes in time', async () => {
    await expect(withinBudget(Promise.resolve(42), 1000)).resolves.toBe(42);
  });

  it('fails with DeadlineExceededError when the work does not finish in time', async () => {
    await expect(withinBudget(new Promise(() => undefined), 5)).rejects.toBeInstanceOf(DeadlineExceededError);
  });
});
