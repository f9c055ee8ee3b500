/**
 * Messages sent to endpoint users, and what became of them: the one owner of the
 * `endpointMessages` table. One item per `sendMessage` (to a user) or broadcast (to everyone on an
 * endpoint), under `<endpoint>#<user>` (`<endpoint>#*`), time-ordered, kept `RETENTION_DAYS`.
 * And, for an endpoint that keeps messages for users who are offline (`keepOffline`), a copy of
 * each such message, whole, under `~kept#<endpoint>#<user>` until it is delivered, dropped for a
 * newer one, or its TTL passes (`expiresAt`: DynamoDB removes it).
 */
import { DeleteCommand, PutCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure, queryAll, queryUpTo, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';

const tableName = () => tableNameOf('endpointMessages');

/** The text kept of a message: its first 4 KiB in UTF-8 (its full size is kept beside it). */
const KEPT_TEXT_BYTES = 4096;

/** The longest start of `text` that is at most `maxBytes` in UTF-8, whole characters only. */
function utf8Start(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // The first byte left out continues a character (10xxxxxx): that character is left out whole.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** What becomes of a message kept for a user who was offline. */
export type KeptOutcome = 'KEPT' | 'DELIVERED' | 'EXPIRED' | 'DROPPED';

/** Who asked for the message. */
export type MessageOrigin = 'operator' | 'logic';

export interface EndpointMessageRecord {
  readonly messageId: string;
  readonly endpoint: string;
  /** The user it was for; `*` for everyone on the endpoint. */
  readonly user: string;
  readonly text: string;
  readonly origin: MessageOrigin;
  /**
   * `SENT` to at least one connection, `NOBODY` open to send it to, `FAILED` where every post
   * failed; `KEPT` for the user to get when it connects (`keepOffline`), and then what became of
   * it: `DELIVERED`, `EXPIRED` (its TTL passed first) or `DROPPED` (over `maxMessages`, for a newer one).
   */
  readonly outcome: 'SENT' | 'NOBODY' | 'FAILED' | KeptOutcome;
  /** `KEPT`: when it stops being delivered (ISO). */
  readonly keptUntil?: string;
  readonly connections: number;
  readonly sent: number;
  readonly gone: number;
  readonly failed: number;
  /** The sends to the user's WCS sessions too, when asked (`sendMessage` with `wcs`). */
  readonly wcs?: {
    readonly targets: number;
    readonly sent: number;
    readonly failed: number;
    readonly queued: number;
  };
  readonly reason?: string;
}

/** Records one message and its outcome (one Put: each message is its own item). */
export async function recordEndpointMessage(record: EndpointMessageRecord, at: Date): Promise<void> {
  const { text, ...rest } = record;
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        recipient: `${record.endpoint}#${record.user}`,
        messageKey: `${at.toISOString()}#${record.messageId}`,
        ...rest,
        text: utf8Start(text, KEPT_TEXT_BYTES),
        textBytes: Buffer.byteLength(text),
        sentAt: at.toISOString(),
        expiresAt: expiresAtFor(at),
      },
    }),
  );
}

/** The last `limit` messages to `user` (`*`: the broadcasts) on `endpoint`, newest first. */
export async function messagesTo(
  endpoint: string,
  user: string,
  limit = 50,
): Promise<Record<string, unknown>[]> {
  const input: QueryCommandInput = {
    TableName: tableName(),
    KeyConditionExpression: 'recipient = :r',
    ExpressionAttributeValues: { ':r': `${endpoint}#${user}` },
    ScanIndexForward: false,
  };
  return queryUpTo(input, limit);
}

/**
 * Where the messages kept for `user` wait. `~` is in no endpoint code, so this is no message
 * record's `recipient`, whatever the user's name.
 */
const keptRecipient = (endpoint: string, user: string) => `~kept#${endpoint}#${user}`;

/** A message kept for a user who was offline, as its delivery sees it. */
export interface KeptMessage {
  readonly endpoint: string;
  readonly user: string;
  /** The key of its message record too: `<ISO time>#<messageId>`, oldest first. */
  readonly messageKey: string;
  /** Epoch seconds after which it is not delivered (and DynamoDB's TTL removes it). */
  readonly expiresAt: number;
}

/**
 * Keeps `text`, whole, for `user` to get when it connects, under the key of its record (`record`,
 * already recorded `KEPT` at `at`), until `keptUntil`; then drops the oldest kept for that user
 * beyond `maxMessages` (their records say `DROPPED`). Two messages kept at once may leave one over
 * the cap until the next is kept.
 */
export async function keepEndpointMessage(
  record: EndpointMessageRecord,
  text: string,
  at: Date,
  keep: { readonly keptUntil: Date; readonly maxMessages: number },
): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        recipient: keptRecipient(record.endpoint, record.user),
        messageKey: `${at.toISOString()}#${record.messageId}`,
        text,
        keptUntil: keep.keptUntil.toISOString(),
        expiresAt: Math.floor(keep.keptUntil.getTime() / 1000),
      },
    }),
  );
  const kept = await keptMessages(record.endpoint, record.user);
  for (const oldest of kept.slice(0, Math.max(0, kept.length - keep.maxMessages)))
    if ((await claimKeptMessage(oldest)) !== undefined)
      await settleKeptMessage(oldest, 'DROPPED', {
        reason: `over keepOffline.maxMessages (${keep.maxMessages}): a newer message took its place`,
      });
}

/** The messages kept for `user` on `endpoint`, oldest first, without their text (one Query, paged, consistent). */
export async function keptMessages(endpoint: string, user: string, limit?: number): Promise<KeptMessage[]> {
  const input: QueryCommandInput = {
    TableName: tableName(),
    KeyConditionExpression: 'recipient = :r',
    ExpressionAttributeValues: { ':r': keptRecipient(endpoint, user) },
    ProjectionExpression: 'messageKey, expiresAt',
    ConsistentRead: true,
  };
  const items = limit === undefined ? await queryAll(input) : await queryUpTo(input, limit);
  return items.map((i) => ({
    endpoint,
    user,
    messageKey: String(i.messageKey),
    expiresAt: Number(i.expiresAt),
  }));
}

/**
 * Takes `kept` out of the kept messages (one conditional Delete): its text, or `undefined` when
 * another delivery (or the cap) took it first. Whoever takes it is the only one to deliver it.
 */
export async function claimKeptMessage(kept: KeptMessage): Promise<string | undefined> {
  try {
    const { Attributes } = await dynamo.send(
      new DeleteCommand({
        TableName: tableName(),
        Key: { recipient: keptRecipient(kept.endpoint, kept.user), messageKey: kept.messageKey },
        ConditionExpression: 'attribute_exists(recipient)',
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes === undefined ? undefined : String(Attributes.text);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** Puts back a message taken for a delivery that could not post it (the connection closed first). */
export async function restoreKeptMessage(kept: KeptMessage, text: string): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        recipient: keptRecipient(kept.endpoint, kept.user),
        messageKey: kept.messageKey,
        text,
        keptUntil: new Date(kept.expiresAt * 1000).toISOString(),
        expiresAt: kept.expiresAt,
      },
    }),
  );
}

/**
 * Records what became of a kept message in its record: `outcome`, when (`settledAt`), and to which
 * connection it was delivered or why it was not. A record its retention already removed is left so.
 */
export async function settleKeptMessage(
  kept: KeptMessage,
  outcome: Exclude<KeptOutcome, 'KEPT'>,
  details: { readonly deliveredTo?: string; readonly reason?: string },
): Promise<void> {
  const sets = ['outcome = :o', 'settledAt = :at'];
  const values: Record<string, unknown> = { ':o': outcome, ':at': new Date().toISOString() };
  if (details.deliveredTo !== undefined) {
    sets.push('deliveredTo = :to');
    values[':to'] = details.deliveredTo;
  }
  if (details.reason !== undefined) {
    sets.push('reason = :why');
    values[':why'] = details.reason;
  }
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { recipient: `${kept.endpoint}#${kept.user}`, messageKey: kept.messageKey },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(recipient)',
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}
