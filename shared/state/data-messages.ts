/**
 * Data messages: what a client sent with `session.sendData()` (the `OnDataEvent` hook) and what WCS
 * reported about it (`DataStatusEvent`), one item per (`sessionId`, `operationId`). Both hooks write
 * idempotently and in either order: WCS's retries and reordering leave one correct item.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DataStatusEventBody, OnDataEventBody } from '../kernel/schemas.ts';
import { batchPutAll, dynamo, isConditionFailure, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { UpdateExpression } from '../store/update-expression.ts';

const tableName = () => tableNameOf('dataMessages');

/** The backend's answer to an OnDataEvent: WCS turns 200 into ACCEPTED and 403 into FAILED (reference §1.3). */
export type DataDecision = 'ACCEPTED' | 'REFUSED';

function common(update: UpdateExpression, body: { nodeId: string; appKey: string }, receivedAt: Date) {
  return update
    .setIfMissing('nodeId', body.nodeId)
    .setIfMissing('appKey', body.appKey)
    .setIfMissing('receivedAt', receivedAt.toISOString())
    .set('expiresAt', expiresAtFor(receivedAt));
}

/** Records an OnDataEvent and the decision taken on it. A repeat writes the same values again. */
export async function recordDataMessage(
  body: OnDataEventBody,
  decision: DataDecision,
  receivedAt: Date,
): Promise<void> {
  // The payload is client-defined JSON, kept as text: any depth, any number, nothing DynamoDB could refuse.
  const payload = JSON.stringify(body.payload);
  const update = common(new UpdateExpression(), body, receivedAt)
    .set('direction', 'IN')
    .setIfMissing('payload', payload)
    .set('payloadBytes', Buffer.byteLength(payload))
    .set('decision', decision);
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { sessionId: body.sessionId, operationId: body.operationId },
      ...update.toParams(),
    }),
  );
}

/**
 * Records a DataStatusEvent (ACCEPTED or FAILED). FAILED is final: a late ACCEPTED does not
 * overwrite it, so the outcome does not depend on arrival order.
 */
export async function recordDataStatus(body: DataStatusEventBody, receivedAt: Date): Promise<void> {
  const update = common(new UpdateExpression(), body, receivedAt)
    .set('status', body.status)
    .set('statusAt', receivedAt.toISOString());
  if (body.info) update.set('info', body.info);
  const status = update.name('status');
  const condition = `attribute_not_exists(${status}) OR ${status} <> ${update.value('FAILED')}`;
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { sessionId: body.sessionId, operationId: body.operationId },
        ...update.toParams(condition),
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** One data message pushed to a client through WCS (`direction` OUT). */
export interface SendRecord {
  readonly sessionId: string;
  readonly operationId: string;
  readonly nodeId: string;
  readonly appKey?: string;
  readonly target: string;
  readonly payload: unknown;
  readonly outcome: 'SENT' | 'FAILED' | 'GONE' | 'QUEUED';
  readonly attempts: number;
  readonly reason?: string;
  readonly jobId?: string;
  readonly requestedAt: Date;
}

/**
 * Records a send and its outcome. Written once per outcome: a send retried from the queue updates
 * its own item (same `operationId`), adding its attempts.
 */
export async function recordSend(send: SendRecord, now: Date): Promise<void> {
  const payload = JSON.stringify(send.payload);
  const update = new UpdateExpression()
    .set('direction', 'OUT')
    .set('nodeId', send.nodeId)
    .set('target', send.target)
    .setIfMissing('payload', payload)
    .set('payloadBytes', Buffer.byteLength(payload))
    .setIfMissing('receivedAt', send.requestedAt.toISOString())
    .set('outcome', send.outcome)
    .set('outcomeAt', now.toISOString())
    .set('expiresAt', expiresAtFor(now));
  if (send.appKey) update.setIfMissing('appKey', send.appKey);
  if (send.jobId) update.setIfMissing('jobId', send.jobId);
  if (send.reason) update.set('reason', send.reason);
  else update.remove('reason');
  update.increment('attempts', send.attempts);
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { sessionId: send.sessionId, operationId: send.operationId },
      ...update.toParams(),
    }),
  );
}

/** The item of a first send (`recordSend` on no item yet): the same fields its update writes. */
function firstSendItem(send: SendRecord, now: Date): Record<string, unknown> {
  const payload = JSON.stringify(send.payload);
  return {
    sessionId: send.sessionId,
    operationId: send.operationId,
    direction: 'OUT',
    nodeId: send.nodeId,
    target: send.target,
    payload,
    payloadBytes: Buffer.byteLength(payload),
    receivedAt: send.requestedAt.toISOString(),
    outcome: send.outcome,
    outcomeAt: now.toISOString(),
    expiresAt: expiresAtFor(now),
    attempts: send.attempts,
    ...(send.appKey && { appKey: send.appKey }),
    ...(send.jobId && { jobId: send.jobId }),
    ...(send.reason && { reason: send.reason }),
  };
}

/**
 * Records the first sends of a fan-out, each a new `operationId`: Puts, 25 to a BatchWriteItem
 * request (`batchPutAll`). The same items `recordSend` makes; a send
 * retried later from the queue updates its own.
 */
export function recordFirstSends(sends: readonly { send: SendRecord; at: Date }[]): Promise<void> {
  return batchPutAll(
    tableName(),
    sends.map(({ send, at }) => firstSendItem(send, at)),
  );
}
