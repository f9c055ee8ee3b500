/**
 * Budgets: work that must finish in time, and the failures of a dependency (DynamoDB down, slow,
 * throttling; the network) that a hook answers without (by its fail mode, or by spilling), as
 * opposed to our own bugs, which must surface.
 */
/** The decision did not finish within its budget. */
export class DeadlineExceededError extends Error {
  constructor(budgetMs: number) {
    super(`decision not made within ${budgetMs} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * `work`'s result, or `DeadlineExceededError` once `budgetMs` has passed. The work is not
 * cancelled: its writes may still complete, and its late failure is swallowed here (the caller has
 * already answered by the fail mode and logged why).
 */
export async function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(budgetMs)), budgetMs);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);
const THROTTLES = new Set([
  'ThrottlingException',
  // Contention: a transaction that kept conflicting with others (`transactWrite`).
  'TransactionConflictException',
  // DynamoDB failed a moment ago and is not asked again yet (`breaker.ts`).
  'DependencyBrokenError',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * True for a failure of a dependency (DynamoDB down, slow, throttling; the network), which a
 * decision answers by its fail mode. False for anything else, our own bug included (an invalid
 * request is a client fault of ours): that must surface as a 500, not be hidden by a fail mode.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (error instanceof DeadlineExceededError) return true;
  const e = error as { name?: string; code?: string; $fault?: string; cause?: unknown } | null;
  if (!e) return false;
  if (e.$fault === 'server') return true;
  if (e.name && THROTTLES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  // The SDK's retry layer wraps an error it does not take for an Error (one from another realm)
  // as "AWS SDK error wrapper for <text>", keeping only the text: the code is in there.
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && [...NETWORK_CODES].some((code) => message.includes(code))) return true;
  return e.cause !== undefined && e.cause !== error && isDependencyFailure(e.cause);
}
