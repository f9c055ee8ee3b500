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
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setting } from '../kernel/config.ts';
import { summaryOf } from '../kernel/errors.ts';
import { sqsClient } from '../kernel/lazy.ts';
import { problemsOf } from './middleware/validate-body.ts';

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
  return Boolean(setting('SPILL_QUEUE_URL') || setting('SPILL_DIR'));
}

/** Keeps `hook` durably for a later replay; throws if it could not be kept. */
export async function spill(hook: SpilledHook): Promise<void> {
  const text = serialise(hook);
  const queueUrl = setting('SPILL_QUEUE_URL');
  if (queueUrl) {
    const { client, SendMessageCommand } = await sqsClient();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: text }));
    return;
  }
  const dir = setting('SPILL_DIR');
  if (!dir) throw new Error('no spill configured: set SPILL_QUEUE_URL (AWS) or SPILL_DIR (local runtime)');
  const append = appendDurably(join(dir, 'spill.jsonl'), `${text}\n`);
  appending.add(append);
  try {
    await append;
  } finally {
    appending.delete(append);
  }
}

/**
 * Appends to the local spill file under way. One that opened the file before a drain renamed it
 * writes into the renamed file: the drain waits for these before it reads (and then deletes) it.
 */
const appending = new Set<Promise<void>>();

/**
 * Appends `line` to `path` and waits until it is on disk (fsync), without blocking the process: a
 * burst of spills (every decision of a stalled database at once) must not stall every other request.
 * One write of a whole line to a file opened for appending: concurrent lines never interleave.
 */
async function appendDurably(path: string, line: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const file = await open(path, 'a');
  try {
    await file.write(line);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** What one drain of the local spill did. */
export interface DrainResult {
  /** Hooks written. */
  readonly replayed: number;
  /** Hooks, or lines, that can never be written, moved to the dead-letter file with their reason. */
  readonly deadLettered: number;
}

/**
 * Replays the local spill with `replay`, oldest first, each hook on its own. The spill file is
 * renamed before it is read, so hooks spilled meanwhile go to a new file. A hook that fails because
 * a dependency is down (`isTransient`) ends the pass: it and the ones after it are appended back,
 * in order, for the next drain. A hook that fails for any other reason (DynamoDB refuses it: too
 * large, invalid) and a line that is not a spilled hook at all (torn by a crash mid-write, corrupt)
 * can never succeed: each is moved to the dead-letter file with the reason (`deadLetterSpilled`),
 * and the rest goes on. Nothing is dropped.
 */
export async function drainLocalSpill(
  dir: string,
  replay: (hook: SpilledHook) => Promise<void>,
  isTransient: (error: unknown) => boolean,
): Promise<DrainResult> {
  if (!existsSync(dir)) return { replayed: 0, deadLettered: 0 };
  const live = join(dir, 'spill.jsonl');
  if (existsSync(live)) renameSync(live, join(dir, `draining-${Date.now()}-${process.pid}.jsonl`));
  // Appends begun before the rename may still be writing into the renamed file; later ones open a new one.
  await Promise.allSettled([...appending]);
  let replayed = 0;
  let deadLettered = 0;
  // Files left by an earlier drain that was interrupted are drained too, oldest first.
  for (const name of readdirSync(dir)
    .filter((n) => n.startsWith('draining-'))
    .sort()) {
    const path = join(dir, name);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    let rest: string[] = [];
    try {
      for (const [index, line] of lines.entries()) {
        let hook: SpilledHook;
        try {
          hook = JSON.parse(line) as SpilledHook;
          if (typeof hook?.method !== 'string') throw new Error('no method');
        } catch (error) {
          await deadLetterSpilled(
            line,
            `not a spilled hook (a torn or corrupt line): ${(error as Error).message}`,
          );
          deadLettered++;
          continue;
        }
        try {
          await replay(hook);
          replayed++;
        } catch (error) {
          if (isTransient(error)) {
            rest = lines.slice(index);
            break;
          }
          await deadLetterSpilled(line, reasonOf(error));
          deadLettered++;
        }
      }
    } finally {
      if (rest.length > 0) appendFileSync(live, `${rest.join('\n')}\n`);
      unlinkSync(path);
    }
  }
  return { replayed, deadLettered };
}

/** Why a replay failed, in one line: a schema's refusal names the fields, as a 400 would. */
export function reasonOf(error: unknown): string {
  const issues = (error as { issues?: unknown } | null)?.issues;
  if (Array.isArray(issues))
    return `invalid hook body: ${summaryOf(problemsOf(error as Parameters<typeof problemsOf>[0]))}`.slice(
      0,
      1000,
    );
  const e = error as { name?: string; message?: string };
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`.slice(0, 1000);
}

/**
 * Parks a spilled hook that can never be written, with the reason, where an operator finds it and
 * an alarm says so: in AWS the spill dead-letter queue (`SPILL_DEAD_LETTER_QUEUE_URL`, the reason in
 * a message attribute); locally the file `dead-letter.jsonl` beside the spill, one
 * `{reason, at, hook}` per line. Throws if it could not be kept (then the hook is not removed).
 */
export async function deadLetterSpilled(text: string, reason: string): Promise<void> {
  const queueUrl = setting('SPILL_DEAD_LETTER_QUEUE_URL');
  if (queueUrl) {
    const { client, SendMessageCommand } = await sqsClient();
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: text,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
      }),
    );
    return;
  }
  const dir = setting('SPILL_DIR');
  if (!dir) throw new Error('no spill dead-letter configured: set SPILL_DEAD_LETTER_QUEUE_URL or SPILL_DIR');
  await appendDurably(
    join(dir, 'dead-letter.jsonl'),
    `${JSON.stringify({ reason, at: new Date().toISOString(), hook: text })}\n`,
  );
}
