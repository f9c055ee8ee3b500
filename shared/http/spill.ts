/**
 * The spill: where an event hook goes when it cannot be written now (DynamoDB down, throttling,
 * too slow), so that WCS still gets its answer in time and the event is not lost. Events are
 * notifications (reference §1.4): WCS does not resend one that failed, so a 5xx would drop it.
 *
 * - In AWS: the spill queue (`SPILL_QUEUE_URL`, SQS), drained by the spill-replayer function.
 * - Locally: an append-only file (`SPILL_DIR`/spill.jsonl, fsynced), drained by the local runtime
 *   (`drainLocalSpill`), a session's hooks in order and different sessions' concurrently.
 *   Not DynamoDB Local: it is what is down.
 *
 * Replaying is safe more than once: every write is idempotent, and made order-independent
 * (`docs/data-model.md`). The local drain keeps a session's order all the same, so that a replayed
 * session's history reads as the live one would have.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
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
 * How far the drain has come, kept up to date while it runs, for whoever reports it (`npm start`
 * logs lines left, rate and estimated time from it).
 */
export class DrainProgress {
  /** Lines of the file being drained that have not left the spill yet. */
  pending = 0;
  /** Bytes of the files waiting to be drained after it (their lines are estimated from `meanLineBytes`). */
  unreadBytes = 0;
  /** Lines that left the spill (written or dead-lettered) since this object was made. */
  finished = 0;
  /** Mean size of a spilled line, in bytes, as last read: to estimate the lines of the files not read yet. */
  meanLineBytes = 0;
}

export interface DrainOptions {
  /** Hooks replayed at once, each of a different ordering key (`orderingKeyOf`). Default `SPILL_DRAIN_CONCURRENCY`. */
  readonly concurrency?: number;
  /** Once aborted, no further hook is started; those under way finish and their progress is kept. */
  readonly signal?: AbortSignal;
  /** Kept up to date while the drain runs. */
  readonly progress?: DrainProgress;
}

/**
 * What orders a spilled hook among the others: its session. A session's hooks, its streams' (a
 * stream is its session's `mediaSessionId`) and its data messages' are replayed one after another,
 * in the order they were spilled; hooks of different sessions are replayed concurrently. A hook
 * that names no session orders on its `mediaSessionId`, and one that names neither (kept whole,
 * unidentified) on nothing: `undefined`.
 */
export function orderingKeyOf(hook: SpilledHook): string | undefined {
  const { sessionId, mediaSessionId } = hook.body ?? {};
  if (typeof sessionId === 'string' && sessionId) return `session:${sessionId}`;
  if (typeof mediaSessionId === 'string' && mediaSessionId) return `stream:${mediaSessionId}`;
  return undefined;
}

/** The file of a spill file being drained that lists, one index a line, the lines that left it. */
const doneLogOf = (path: string) => `${path}.done`;

/** The indexes a done log lists; a line torn by a crash mid-write is not one. */
function doneIndexes(path: string): Set<number> {
  const log = doneLogOf(path);
  if (!existsSync(log)) return new Set();
  return new Set(
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number),
  );
}

/** The files being drained, oldest first (those an interrupted drain left are among them). */
function drainingFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('draining-') && n.endsWith('.jsonl'))
    .sort()
    .map((n) => join(dir, n));
}

type Outcome = 'replayed' | 'dead-lettered' | 'transient';

/** Replays one spilled line; dead-letters it if it can never be written. */
async function settleLine(
  line: string,
  hook: SpilledHook | Error,
  replay: (hook: SpilledHook) => Promise<void>,
  isTransient: (error: unknown) => boolean,
): Promise<Outcome> {
  if (hook instanceof Error) {
    await deadLetterSpilled(line, `not a spilled hook (a torn or corrupt line): ${hook.message}`);
    return 'dead-lettered';
  }
  try {
    await replay(hook);
    return 'replayed';
  } catch (error) {
    if (isTransient(error)) return 'transient';
    await deadLetterSpilled(line, reasonOf(error));
    return 'dead-lettered';
  }
}

function parseSpilled(line: string): SpilledHook | Error {
  try {
    const hook = JSON.parse(line) as SpilledHook;
    if (typeof hook?.method !== 'string') return new Error('no method');
    return hook;
  } catch (error) {
    return error as Error;
  }
}

/**
 * Replays the local spill with `replay`, oldest file first. Hooks of one session (`orderingKeyOf`)
 * are replayed one after another in the order they were spilled; those of different sessions
 * concurrently, at most `concurrency` at once. The spill file is renamed before it is read, so
 * hooks spilled meanwhile go to a new file.
 *
 * - Isolation: a hook that fails for any other reason than a dependency that is down (DynamoDB
 *   refuses it: too large, invalid), and a line that is not a spilled hook at all (torn by a crash
 *   mid-write, corrupt), can never succeed: each is moved to the dead-letter file with the reason
 *   (`deadLetterSpilled`), and the rest goes on. Nothing is dropped.
 * - Durable progress: each line that left the spill (written, or dead-lettered) is listed at once in
 *   the file's done log, which survives the process (`kill -9` included). A drain interrupted, by a
 *   crash or `signal`, resumes where it was: only the hooks that were under way are replayed again
 *   (replays are idempotent), never the whole file, and no line is lost. A file and its done log
 *   are deleted once every line of it has left.
 * - A hook that fails because a dependency is down (`isTransient`) ends the pass: no further hook
 *   is started, and it and every line not done wait, in their file, for the next pass. Files are
 *   drained one after another, so a session's hooks keep their order across files too.
 */
export async function drainLocalSpill(
  dir: string,
  replay: (hook: SpilledHook) => Promise<void>,
  isTransient: (error: unknown) => boolean,
  options: DrainOptions = {},
): Promise<DrainResult> {
  if (!existsSync(dir)) return { replayed: 0, deadLettered: 0 };
  const live = join(dir, 'spill.jsonl');
  if (existsSync(live)) renameSync(live, join(dir, `draining-${Date.now()}-${process.pid}.jsonl`));
  // Appends begun before the rename may still be writing into the renamed file; later ones open a new one.
  await Promise.allSettled([...appending]);
  // A done log whose file is gone belongs to a drain that ended between the two deletions.
  for (const name of readdirSync(dir).filter((n) => n.startsWith('draining-') && n.endsWith('.done')))
    if (!existsSync(join(dir, name.slice(0, -'.done'.length)))) unlinkSync(join(dir, name));
  const progress = options.progress ?? new DrainProgress();
  // Each file is read only when its turn comes: while DynamoDB is down, a pass reads just the first.
  const paths = drainingFiles(dir);
  progress.pending = 0;
  progress.unreadBytes = paths.reduce((sum, path) => sum + statSync(path).size, 0);
  const totals = { replayed: 0, deadLettered: 0 };
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    const done = doneIndexes(path);
    const bytes = Buffer.byteLength(text);
    if (lines.length > 0) progress.meanLineBytes = bytes / lines.length;
    progress.unreadBytes = Math.max(0, progress.unreadBytes - bytes);
    progress.pending = lines.length - done.size;
    const complete = await drainFile({ path, lines, done }, replay, isTransient, options, progress, totals);
    if (!complete) break;
    // The file first: a crash between the two leaves a done log alone, removed above, not a file to redo.
    unlinkSync(path);
    if (existsSync(doneLogOf(path))) unlinkSync(doneLogOf(path));
  }
  progress.pending = 0;
  progress.unreadBytes = 0;
  return totals;
}

/** Drains one file; true when every line of it has left the spill. */
async function drainFile(
  file: { path: string; lines: readonly string[]; done: ReadonlySet<number> },
  replay: (hook: SpilledHook) => Promise<void>,
  isTransient: (error: unknown) => boolean,
  options: DrainOptions,
  progress: DrainProgress,
  totals: { replayed: number; deadLettered: number },
): Promise<boolean> {
  if (file.done.size >= file.lines.length) return true;
  const concurrency = Math.max(1, options.concurrency ?? setting('SPILL_DRAIN_CONCURRENCY'));
  const doneLog = openSync(doneLogOf(file.path), 'a');
  let stopped = false;
  let failure: unknown;
  let left = file.lines.length - file.done.size;
  // Slots: at most `concurrency` replays at once.
  let running = 0;
  const waitingForSlot: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (running >= concurrency) return new Promise<void>((r) => waitingForSlot.push(r));
    running += 1;
    return Promise.resolve();
  };
  const release = () => {
    const next = waitingForSlot.shift();
    if (next) next();
    else running -= 1;
  };
  // Lines started ahead of the slots are bounded, so a long file is not all in flight in memory.
  const window = concurrency * 64;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  // The last line of each ordering key: the next of that key waits for it.
  const tails = new Map<string, Promise<void>>();
  const tasks = new Set<Promise<void>>();
  try {
    for (const [index, line] of file.lines.entries()) {
      if (stopped || options.signal?.aborted) break;
      if (file.done.has(index)) continue;
      while (outstanding >= window && !stopped) await new Promise<void>((r) => (wake = r));
      if (stopped) break;
      const hook = parseSpilled(line);
      const key = hook instanceof Error ? undefined : orderingKeyOf(hook);
      const previous = key ? tails.get(key) : undefined;
      outstanding += 1;
      const task = (async () => {
        await previous;
        await acquire();
        try {
          if (stopped || options.signal?.aborted) return;
          const outcome = await settleLine(line, hook, replay, isTransient);
          if (outcome === 'transient') {
            stopped = true;
            return;
          }
          writeSync(doneLog, `${index}\n`);
          left -= 1;
          progress.pending -= 1;
          progress.finished += 1;
          if (outcome === 'replayed') totals.replayed += 1;
          else totals.deadLettered += 1;
        } catch (error) {
          // The dead-letter file could not take it: the line stays, and the pass ends.
          stopped = true;
          failure ??= error;
        } finally {
          release();
          outstanding -= 1;
          wake?.();
        }
      })();
      tasks.add(task);
      void task.then(() => tasks.delete(task));
      if (key) tails.set(key, task);
    }
    await Promise.all(tasks);
  } finally {
    closeSync(doneLog);
  }
  if (failure) throw failure;
  return left === 0;
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
