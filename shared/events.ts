/**
 * Events: every hook without a dedicated handler (the catch-all) and ErrorEvent, one item per
 * distinct call, under its session. The item key includes a hash of the raw body, so WCS's retries
 * of one call (reference §0.2, up to 3) are stored once.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { expiresAtFor } from './retention.ts';
import { dynamo, isConditionFailure, tableNameOf } from './store/dynamo.ts';

const tableName = tableNameOf('events');

/** The partition for hooks that name no session (a node-level event). */
export const NO_SESSION = '-';

export interface RecordedEvent {
  readonly method: string;
  readonly body: Record<string, unknown>;
  /** `digestOf` the raw body (`digest.ts`): a retry of the same call has the same digest. */
  readonly digest: string;
  readonly receivedAt: Date;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** Stores the call once; returns false when it had been stored already (a retry). */
export async function recordEvent(event: RecordedEvent): Promise<boolean> {
  const { sdp: _sdp, ...kept } = event.body;
  try {
    await dynamo.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          sessionId: text(event.body.sessionId) ?? NO_SESSION,
          eventKey: `${event.method}#${event.digest}`,
          method: event.method,
          receivedAt: event.receivedAt.toISOString(),
          nodeId: text(event.body.nodeId),
          appKey: text(event.body.appKey),
          mediaSessionId: text(event.body.mediaSessionId),
          status: text(event.body.status),
          info: text(event.body.info),
          // The body as text (without SDP): any shape WCS sends is kept, nothing DynamoDB could refuse.
          body: JSON.stringify(kept),
          expiresAt: expiresAtFor(event.receivedAt),
        },
        ConditionExpression: 'attribute_not_exists(eventKey)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
