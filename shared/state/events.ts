/**
 * Events: every hook without a dedicated handler (the catch-all) and ErrorEvent, one item per
 * distinct call, under its session. The item key includes a hash of the raw body, so WCS's retries
 * of one call (reference §0.2, up to 3) are stored once.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { bodyWithoutCredentials } from '../kernel/credentials.ts';
import { LIMITS } from '../kernel/schemas.ts';
import { dynamo, isConditionFailure, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';

/** The partition for hooks that name no session (a node-level event). */
export const NO_SESSION = '-';

export interface RecordedEvent {
  readonly method: string;
  readonly body: Record<string, unknown>;
  /** `digestOf` the raw body (`digest.ts`): a retry of the same call has the same digest. */
  readonly digest: string;
  readonly receivedAt: Date;
  /** Why a hook that has a handler of its own is kept here instead: it could not be identified. */
  readonly unidentified?: string;
  /**
   * Why a hook that was identified is kept here instead of changing its item: it names another
   * node than the item's, or came before the item's current generation (`recorders.ts`).
   */
  readonly notApplied?: string;
  /** The node the hook's item is on, when that is not the hook's. */
  readonly itemNodeId?: string;
}

/** `value` when it is a non-empty string of at most `maxBytes` (a key, or a short fact); otherwise left out. */
const keyText = (value: unknown, maxBytes: number) =>
  typeof value === 'string' && value !== '' && Buffer.byteLength(value) <= maxBytes ? value : undefined;

/** Stores a call once; resolves false when it had been stored already (a retry). */
export type RecordEvent = (event: RecordedEvent) => Promise<boolean>;

/**
 * The recorder of a function that keeps events, made when the function is built: its table name is
 * read then, so such a function fails at start without `EVENTS_TABLE`, and the others never need it.
 */
export function eventRecorder(): RecordEvent {
  const tableName = tableNameOf('events');
  return async (event) => {
    // Without SDP (kilobytes), and without credentials (`credentials.ts`).
    const { sdp: _sdp, ...kept } = bodyWithoutCredentials(event.body);
    try {
      await dynamo.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            sessionId: keyText(event.body.sessionId, LIMITS.sessionId) ?? NO_SESSION,
            eventKey: `${event.method}#${event.digest}`,
            method: event.method,
            receivedAt: event.receivedAt.toISOString(),
            nodeId: keyText(event.body.nodeId, LIMITS.nodeId),
            appKey: keyText(event.body.appKey, LIMITS.appKey),
            mediaSessionId: keyText(event.body.mediaSessionId, LIMITS.mediaSessionId),
            status: keyText(event.body.status, LIMITS.status),
            info: keyText(event.body.info, 8192),
            // The body as text: any shape WCS sends is kept, nothing DynamoDB could refuse.
            body: JSON.stringify(kept),
            ...(event.unidentified && { unidentified: event.unidentified }),
            ...(event.notApplied && { notApplied: event.notApplied }),
            ...(event.itemNodeId && { itemNodeId: event.itemNodeId }),
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
  };
}
