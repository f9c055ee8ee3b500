/**
 * The sender: pushes data to connected clients through the WCS REST API of the node that holds
 * each session (reference §4, `/data/send`), and records every send with its outcome. Nothing is
 * silently lost: a send that failed in a way that can succeed later goes to the send queue, is
 * retried from there with the same `operationId`, and ends in the dead-letter queue if it never does.
 */
import { randomUUID } from 'node:crypto';
import { mapWithConcurrency } from '../kernel/concurrency.ts';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC } from '../kernel/metrics.ts';
import { recordFirstSends, recordSend, type SendRecord } from '../state/data-messages.ts';
import { connectionStatusChanged } from '../state/session-status.ts';
import { enqueue, type QueueMessage, type SendMessage } from './send-queue.ts';
import { describeTarget, type Recipient, resolveTarget, type SendTarget } from './send-targets.ts';
import { type SendOutcome, sendData } from './wcs-client.ts';

const concurrency = setting('SEND_CONCURRENCY');

/** What became of the sends to one target. */
export interface SendSummary {
  readonly target: string;
  /** Sessions the target named. */
  readonly targets: number;
  readonly sent: number;
  /** Failed for good (a 4xx other than 404). */
  readonly failed: number;
  /** The session was gone from its node (404): it is marked closed. */
  readonly gone: number;
  /** Failed for now (network, 5xx, timeouts): queued to be retried. */
  readonly queued: number;
  readonly results: readonly { sessionId: string; operationId: string; outcome: string; reason?: string }[];
}

/** Re-exported for the modules and benches that fan out through the sender. */
export { mapWithConcurrency } from '../kernel/concurrency.ts';

/**
 * WCS no longer has the session (404 on `/data/send`): it is ended exactly as WCS's DISCONNECTED
 * ends it (`connectionStatusChanged`), so what its streams held is released now; the DISCONNECTED
 * itself, if it comes, is then a duplicate.
 */
async function markGone(message: SendMessage, reason: string, now: Date): Promise<void> {
  await connectionStatusChanged(
    {
      sessionId: message.sessionId,
      nodeId: message.nodeId,
      appKey: message.appKey ?? '-',
      status: 'DISCONNECTED',
      info: `gone: ${reason}`,
    },
    now,
  );
}

/**
 * Sends one message (`message.operationId`, fixed for all its attempts) and records the outcome.
 * Returns the outcome; a retryable failure is left for the caller to queue or to report.
 */
export async function deliver(
  message: SendMessage,
  /** Records the outcome: by default at once (`recordSend`); a fan-out collects them to write in batches. */
  record: (send: SendRecord, at: Date) => Promise<void> = recordSend,
): Promise<SendOutcome> {
  const outcome = await sendData({
    nodeId: message.nodeId,
    sessionId: message.sessionId,
    operationId: message.operationId,
    payload: message.payload,
  });
  const now = new Date();
  await record(
    {
      sessionId: message.sessionId,
      operationId: message.operationId,
      nodeId: message.nodeId,
      ...(message.appKey && { appKey: message.appKey }),
      target: message.target,
      payload: message.payload,
      outcome: outcome.outcome,
      attempts: outcome.attempts,
      ...('reason' in outcome && { reason: outcome.reason }),
      ...(message.jobId && { jobId: message.jobId }),
      requestedAt: new Date(message.requestedAt),
    },
    now,
  );
  if (outcome.outcome === 'GONE') await markGone(message, outcome.reason, now);
  if (outcome.outcome === 'FAILED' && outcome.misconfigured) {
    // A node whose REST URL leads elsewhere, or that we may not push to: nothing reaches its
    // clients until an operator fixes its configuration.
    countForAlarm(METRIC.wcsNodeMisconfigured);
    logger.error('WCS node misconfigured: the send cannot reach it', {
      nodeId: message.nodeId,
      reason: outcome.reason,
    });
  } else if (outcome.outcome === 'FAILED')
    logger.warn('data send failed', { sessionId: message.sessionId, reason: outcome.reason });
  return outcome;
}

/**
 * The sends of one fan-out: a message per recipient, each with an `operationId` of its own (fixed
 * for all its attempts, so WCS can tell a retry from a new message).
 */
export function sendsFor(
  recipients: readonly Recipient[],
  payload: unknown,
  target: string,
  requestedAt: Date,
  jobId?: string,
): SendMessage[] {
  return recipients.map((recipient) => ({
    kind: 'send',
    operationId: randomUUID(),
    sessionId: recipient.sessionId,
    nodeId: recipient.nodeId,
    appKey: recipient.appKey,
    target,
    payload,
    requestedAt: requestedAt.toISOString(),
    ...(jobId && { jobId }),
  }));
}

/** What became of a send to one session, as the API reports it. */
export type SendResult = SendSummary['results'][number];

/** The summary of the sends to `target`: how many of each outcome, and each result. */
export function summarize(target: string, results: readonly SendResult[]): SendSummary {
  const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
  return {
    target,
    targets: results.length,
    sent: count('SENT'),
    failed: count('FAILED'),
    gone: count('GONE'),
    queued: count('QUEUED'),
    results,
  };
}

/**
 * Sends `payload` to every session `target` names now, at most `SEND_CONCURRENCY` at a time, and
 * answers with what became of each. Retryable failures are queued (outcome QUEUED), not dropped.
 */
export async function sendNow(
  target: SendTarget,
  payload: unknown,
  requestedAt = new Date(),
): Promise<SendSummary> {
  const label = describeTarget(target);
  const messages = sendsFor(await resolveTarget(target), payload, label, requestedAt);
  // Each send is new (its own operationId): its record is a Put, written 25 to a request.
  const records = batchedRecords();
  const results = await mapWithConcurrency(messages, concurrency, async (message): Promise<SendResult> => {
    const outcome = await deliver(message, records.add);
    const { sessionId, operationId } = message;
    if (outcome.outcome === 'FAILED' && outcome.retryable) {
      await enqueue([message]);
      return { sessionId, operationId, outcome: 'QUEUED', reason: outcome.reason };
    }
    return {
      sessionId,
      operationId,
      outcome: outcome.outcome,
      ...('reason' in outcome && { reason: outcome.reason }),
    };
  });
  await records.flush();
  return summarize(label, results);
}

/**
 * Send records collected to be written 25 to a request (`recordFirstSends`): a batch is written as
 * soon as it is full, the rest by `flush`; a FAILED one (which may be queued for a retry) at once. A
 * write that fails fails the fan-out, as a single record's would.
 */
function batchedRecords() {
  let pending: { send: SendRecord; at: Date }[] = [];
  // One batch written at a time, in order, beside the sends: never a burst of requests at once.
  let written: Promise<void> = Promise.resolve();
  let failure: unknown;
  const write = () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    written = written
      .then(() => (failure === undefined ? recordFirstSends(batch) : undefined))
      .catch((error: unknown) => {
        failure ??= error;
      });
  };
  return {
    add: async (send: SendRecord, at: Date) => {
      // A failed send may be queued for a retry, which updates its record: that record must be there
      // first, never put over the retry's.
      if (send.outcome === 'FAILED') return recordSend(send, at);
      pending.push({ send, at });
      if (pending.length >= 25) write();
    },
    flush: async () => {
      write();
      await written;
      if (failure !== undefined) throw failure;
    },
  };
}

/** Queues a fan-out to `target` as a job: the sender resolves it and queues one send per session. */
export async function sendLater(
  target: SendTarget,
  payload: unknown,
  requestedAt = new Date(),
): Promise<{ jobId: string }> {
  const jobId = randomUUID();
  await enqueue([{ kind: 'fanout', jobId, target, payload, requestedAt: requestedAt.toISOString() }]);
  return { jobId };
}

/**
 * Processes one queue message. A fan-out resolves its target and queues one send per session (so
 * each is retried, and dead-lettered, on its own); a send is delivered, and throws when it failed in
 * a way that can still succeed, so the queue delivers it again later.
 */
export async function processQueueMessage(message: QueueMessage): Promise<void> {
  if (message.kind === 'fanout') {
    const recipients = await resolveTarget(message.target);
    const label = describeTarget(message.target);
    const requestedAt = new Date(message.requestedAt);
    await enqueue(sendsFor(recipients, message.payload, label, requestedAt, message.jobId));
    logger.info('fan-out queued', { jobId: message.jobId, target: label, sends: recipients.length });
    return;
  }
  const outcome = await deliver(message);
  if (outcome.outcome === 'FAILED' && outcome.retryable) {
    throw new Error(
      `send ${message.operationId} to ${message.sessionId} failed, to be retried: ${outcome.reason}`,
    );
  }
}
