/**
 * Messages sent to endpoint users, and what became of them: the one owner of the
 * `endpointMessages` table. One item per `sendMessage` (to a user) or broadcast (to everyone on an
 * endpoint), under `<endpoint>#<user>` (`<endpoint>#*`), time-ordered, kept `RETENTION_DAYS`.
 */
import { PutCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo, queryUpTo, tableNameOf } from '../store/dynamo.ts';
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

/** Who asked for the message. */
export type MessageOrigin = 'operator' | 'logic';

export interface EndpointMessageRecord {
  readonly messageId: string;
  readonly endpoint: string;
  /** The user it was for; `*` for everyone on the endpoint. */
  readonly user: string;
  readonly text: string;
  readonly origin: MessageOrigin;
  /** `SENT` to at least one connection, `NOBODY` open to send it to, `FAILED` where every post failed. */
  readonly outcome: 'SENT' | 'NOBODY' | 'FAILED';
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
