/**
 * Refusals counted per app and minute in the `counters` table, so that the realtime API can raise
 * an alarm when an app's refusals in one minute cross a threshold (a broken token issuer, a client
 * retrying a refused publish, a credential-stuffing run). CloudWatch counts them too (the
 * `HookRejected` metric); this count is what the realtime API and analysts read, in AWS and locally.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { withinBudget } from '../kernel/budget.ts';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { dynamo, queryAll, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';

/** A refusal answers WCS after at most this much counting (`REFUSAL_COUNT_BUDGET_MS`). */
const budgetMs = setting('REFUSAL_COUNT_BUDGET_MS');

const countersTable = () => tableNameOf('counters');

/** The counter of `appKey`'s refusals. */
export const refusedCounter = (appKey: string) => `refused#${appKey}`;

/** True for a counter item of refusals (the table also counts reconciliations per node). */
export const isRefusalCounter = (item: Record<string, unknown> | undefined) =>
  String(item?.counter ?? '').startsWith(refusedCounter(''));

/** The minute `at` falls in, as the counters' sort key: `2026-11-22T15:37Z`. */
const minuteOf = (at: Date) => `${at.toISOString().slice(0, 16)}Z`;

export type CountRefusal = (
  refusal: { appKey: string; method: string; reason: string; sessionId?: string; hookDigest?: string },
  at: Date,
) => Promise<void>;

/** The counter of `appKey`'s refusals one by one on the UTC day of `at`: one item per refusal. */
export const refusalsOfDay = (appKey: string, at: Date | string) =>
  `refusals#${appKey}#${(typeof at === 'string' ? at : at.toISOString()).slice(0, 10)}`;

/** True for the item of one refusal (`refusalsOfDay`), what the usage aggregates count by reason. */
export const isRefusalRecord = (item: Record<string, unknown> | undefined) =>
  String(item?.counter ?? '').startsWith('refusals#');

/** A reason as an attribute name: the minute's count of that one reason (`reason#<method>: <reason>`). */
export const reasonAttribute = (method: string, reason: string) =>
  `reason#${method}: ${reason.slice(0, 200)}`;

/**
 * The counter of a decision function, made when the function is built: its table name is read
 * then, so a function that decides fails at start without `COUNTERS_TABLE`, and the others never
 * need it. Each call adds one to the app's refusals of the minute, and to that minute's count of
 * the refusal's method and reason (`reason#<method>: <reason>`), and records the refusal itself
 * under the app's day (`refusals#<appKey>#<day>`, sorted by time): what the usage aggregates count
 * by reason and an analyst lists. The refusal is the answer either way: a count not written within
 * its budget is left out, with a warning (the metric still has it).
 */
export function refusalCounter(): CountRefusal {
  const tableName = countersTable();
  return async (refusal, at) => {
    const exp = expiresAtFor(at);
    const count = dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { counter: refusedCounter(refusal.appKey), window: minuteOf(at) },
        UpdateExpression:
          'ADD #count :one, #reason :one SET appKey = :app, lastMethod = :method, lastReason = :reason, expiresAt = :exp',
        ExpressionAttributeNames: {
          '#count': 'count',
          '#reason': reasonAttribute(refusal.method, refusal.reason),
        },
        ExpressionAttributeValues: {
          ':one': 1,
          ':app': refusal.appKey,
          ':method': refusal.method,
          ':reason': refusal.reason,
          ':exp': exp,
        },
      }),
    );
    // The same hook again (a WCS retry at the same instant) lands on the same key: recorded once.
    const record = dynamo.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          counter: refusalsOfDay(refusal.appKey, at),
          window: `${at.toISOString()}#${(refusal.hookDigest ?? randomUUID()).slice(0, 16)}`,
          appKey: refusal.appKey,
          method: refusal.method,
          reason: refusal.reason,
          refusedAt: at.toISOString(),
          ...(refusal.sessionId && { sessionId: refusal.sessionId }),
          expiresAt: exp,
        },
      }),
    );
    try {
      await withinBudget(Promise.all([count, record]), budgetMs);
    } catch (error) {
      logger.warn('refusal not counted', { error: (error as Error).message });
    }
  };
}

/** What one reconciliation or loss changed on a node, as the per-hour and per-day counters add it. */
export interface NodeChangeCounts {
  readonly sessionsEnded: number;
  readonly streamsEnded: number;
  readonly sessionsFound: number;
  readonly streamsFound: number;
}

/**
 * The counters of reconciliations, one per period: an item per node and UTC hour
 * (`2026-12-07T03Z#<nodeId>`) or UTC day (`2026-12-07#<nodeId>`), so that the last 24 hours and 7
 * days of every node are two Queries, however many nodes there are.
 */
export const nodeChangesCounter = (per: 'hour' | 'day') => `reconciled-${per}`;

const periodOf = (at: Date, per: 'hour' | 'day') =>
  per === 'hour' ? `${at.toISOString().slice(0, 13)}Z` : at.toISOString().slice(0, 10);

/**
 * Adds what a reconciliation (or a loss) of `nodeId` ended and found at `at` to the node's counters
 * of that hour and that day: what an operator reads to see how much reconciliation does, per node,
 * over time (`nodes list`, `node_status/list`). Two writes; nothing when nothing changed.
 */
export async function countNodeChanges(nodeId: string, at: Date, counts: NodeChangeCounts): Promise<void> {
  if (Object.values(counts).every((n) => n === 0)) return;
  await Promise.all(
    (['hour', 'day'] as const).map((per) =>
      dynamo.send(
        new UpdateCommand({
          TableName: countersTable(),
          Key: { counter: nodeChangesCounter(per), window: `${periodOf(at, per)}#${nodeId}` },
          UpdateExpression:
            'ADD sessionsEnded :se, streamsEnded :te, sessionsFound :sf, streamsFound :tf SET nodeId = :node, expiresAt = :exp',
          ExpressionAttributeValues: {
            ':se': counts.sessionsEnded,
            ':te': counts.streamsEnded,
            ':sf': counts.sessionsFound,
            ':tf': counts.streamsFound,
            ':node': nodeId,
            ':exp': expiresAtFor(at),
          },
        }),
      ),
    ),
  );
}

/** What reconciliations changed on one node over the last 24 hours and the last 7 days. */
export interface NodeChanges {
  readonly last24Hours: NodeChangeCounts;
  readonly last7Days: NodeChangeCounts;
}

const NO_CHANGES: NodeChangeCounts = { sessionsEnded: 0, streamsEnded: 0, sessionsFound: 0, streamsFound: 0 };

/**
 * The counts of every node's reconciliations over the last 24 hours and the last 7 days (UTC), as
 * of `now`, by nodeId: two Queries, whatever the number of nodes. A node with nothing counted reads
 * as zeros (`changesOf`).
 */
export async function nodeChanges(now: Date): Promise<(nodeId: string) => NodeChanges> {
  const since = async (per: 'hour' | 'day', ms: number) => {
    const items = await queryAll({
      TableName: countersTable(),
      KeyConditionExpression: '#c = :c AND #w >= :from',
      ExpressionAttributeNames: { '#c': 'counter', '#w': 'window' },
      ExpressionAttributeValues: {
        ':c': nodeChangesCounter(per),
        ':from': periodOf(new Date(now.getTime() - ms), per),
      },
    });
    const byNode = new Map<string, NodeChangeCounts>();
    for (const item of items) {
      const nodeId = String(item.nodeId ?? '');
      const sum = byNode.get(nodeId) ?? NO_CHANGES;
      byNode.set(nodeId, {
        sessionsEnded: sum.sessionsEnded + Number(item.sessionsEnded ?? 0),
        streamsEnded: sum.streamsEnded + Number(item.streamsEnded ?? 0),
        sessionsFound: sum.sessionsFound + Number(item.sessionsFound ?? 0),
        streamsFound: sum.streamsFound + Number(item.streamsFound ?? 0),
      });
    }
    return byNode;
  };
  const [hours, days] = await Promise.all([since('hour', 23 * 3_600_000), since('day', 6 * 86_400_000)]);
  return (nodeId) => ({
    last24Hours: hours.get(nodeId) ?? NO_CHANGES,
    last7Days: days.get(nodeId) ?? NO_CHANGES,
  });
}
