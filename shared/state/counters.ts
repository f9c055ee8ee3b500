/**
 * Refusals counted per app and minute in the `counters` table, so that the realtime API can raise
 * an alarm when an app's refusals in one minute cross a threshold (a broken token issuer, a client
 * retrying a refused publish, a credential-stuffing run). CloudWatch counts them too (the
 * `HookRejected` metric); this count is what the realtime API and analysts read, in AWS and locally.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { withinBudget } from '../kernel/budget.ts';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { dynamo, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';

/** A refusal answers WCS after at most this much counting (`REFUSAL_COUNT_BUDGET_MS`). */
const budgetMs = setting('REFUSAL_COUNT_BUDGET_MS');

/** The counter of `appKey`'s refusals. */
export const refusedCounter = (appKey: string) => `refused#${appKey}`;

/** The minute `at` falls in, as the counters' sort key: `2026-11-22T15:37Z`. */
const minuteOf = (at: Date) => `${at.toISOString().slice(0, 16)}Z`;

export type CountRefusal = (
  refusal: { appKey: string; method: string; reason: string },
  at: Date,
) => Promise<void>;

/**
 * The counter of a decision function, made when the function is built: its table name is read
 * then, so a function that decides fails at start without `COUNTERS_TABLE`, and the others never
 * need it. Each call adds one to the app's refusals of the minute. The refusal is the answer either
 * way: a count not written within its budget is left out, with a warning (the metric still has it).
 */
export function refusalCounter(): CountRefusal {
  const tableName = tableNameOf('counters');
  return async (refusal, at) => {
    const write = dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { counter: refusedCounter(refusal.appKey), window: minuteOf(at) },
        UpdateExpression:
          'ADD #count :one SET appKey = :app, lastMethod = :method, lastReason = :reason, expiresAt = :exp',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':app': refusal.appKey,
          ':method': refusal.method,
          ':reason': refusal.reason,
          ':exp': expiresAtFor(at),
        },
      }),
    );
    try {
      await withinBudget(write, budgetMs);
    } catch (error) {
      logger.warn('refusal not counted', { error: (error as Error).message });
    }
  };
}
