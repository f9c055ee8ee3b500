/**
 * The spill: where an event hook goes when it cannot be written now (DynamoDB down, throttling,
 * too slow), so that WCS still gets its answer in time and the event is not lost. Events are
 * notifications (reference §1.4): WCS does not resend one that failed, so a 5xx would drop it.
 *
 * - In AWS: the spill queue (`SPILL_QUEUE_URL`, SQS), drained by the spill-replayer function.
 * - Locally: an append-only file (`SPILL_DIR`/spill.jsonl, fsynced), drained by the local runtime.
 *   Not DynamoDB Local: it is what is down.
 *
 * Replaying is safe in any order and more than once: every write is idempotent and
 * order-independent (`docs/data-model.md`).
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

/** One spilled hook: enough to apply it later exactly as it would have been applied now. */
export interface SpilledHook {
  readonly method: string;
  readonly body: Record<string, unknown>;
  /** ISO-8601 time the hook was received: the time recorded, not the time of replay. */
  readonly receivedAt: string;
  /** SHA-256 prefix of the raw body, for the hooks stored by digest (`events`). */
  readonly digest: string;
  /** Set for a hook kept as a raw event because it could not be identified: why. */
  readonly unidentified?: string;
  /** The body as WCS sent it, when it was not a JSON object (`body` is then empty). */
  readonly raw?: unknown;
}

/** SQS's message limit (256 KiB). */
const SQS_MAX_BYTES = 262_144;

let sqs: SQSClient | undefined;

/** The record as text, without SDP if it must shrink to fit (SDP is not stored by default anyway). */
function serialise(hook: SpilledHook): string {
  let text = JSON.stringify(hook);
  if (Buffer.byteLength(text) > SQS_MAX_BYTES && 'sdp' in hook.body) {
    const { sdp: _sdp, ...body } = hook.body;
    text = JSON.stringify({ ...hook, body });
  }
  if (Buffer.byteLength(text) > SQS_MAX_BYTES)
    throw new Error(`hook too large to spill (${Buffer.byteLength(text)} bytes)`);
  return text;
}

/** True when a spill is configured. */
export function canSpill(): boolean {
  return Boolean(process.env.SPILL_QUEUE_URL || process.env.SPILL_DIR);
}

/** Keeps `hook` durably for a later replay; throws if it could not be kept. */
export async function spill(hook: SpilledHook): Promise<void> {
  const text = serialise(hook);
  const queueUrl = process.env.SPILL_QUEUE_URL;
  if (queueUrl) {
    sqs ??= new SQSClient({});
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: text }));
    return;
  }
  const dir = process.env.SPILL_DIR;
  if (!dir) throw new Error('no spill configured: set SPILL_QUEUE_URL (AWS) or SPILL_DIR (local runtime)');
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'spill.jsonl'), 'a');
  try {
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replays the local spill with `replay`, oldest first. The spill file is renamed before it is read,
 * so hooks spilled meanwhile go to a new file; what cannot be replayed yet (the database is still
 * down) is appended back, in order, for the next drain. Returns how many hooks were replayed.
 */
export async function drainLocalSpill(
  dir: string,
  replay: (hook: SpilledHook) => Promise<void>,
): Promise<number> {
  if (!existsSync(dir)) return 0;
  const live = join(dir, 'spill.jsonl');
  if (existsSync(live)) renameSync(live, join(dir, `draining-${Date.now()}-${process.pid}.jsonl`));
  let replayed = 0;
  // Files left by an earlier drain that was interrupted are drained too, oldest first.
  for (const name of readdirSync(dir)
    .filter((n) => n.startsWith('draining-'))
    .sort()) {
    const path = join(dir, name);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    let index = 0;
    try {
      for (; index < lines.length; index++) {
        await replay(JSON.parse(lines[index] as string) as SpilledHook);
        replayed++;
      }
    } finally {
      const rest = lines.slice(index);
      if (rest.length > 0) appendFileSync(live, `${rest.join('\n')}\n`);
      unlinkSync(path);
    }
  }
  return replayed;
}
