/**
 * The usage questions analysts ask, checked and answered the one way the CLI (`npm run cli -- usage`),
 * the realms (`usage/app`, `usage/stream`, REST and STOMP) and the live console get them: what a
 * question may ask (a range of UTC days, rows by day, hour, stream name or publish), its answer
 * read from the usage aggregates (`usage.ts`), a page at a time. A question that cannot be
 * answered is an `InvalidUsageQuestionError` whose message says why, in the caller's words; nothing
 * is ever written (docs/realtime.md, "Usage").
 */
import { findAppPolicy } from './apps.ts';
import { listOpenSessions } from './sessions.ts';
import {
  daysBetween,
  type PublishUsage,
  type StreamTotals,
  streamsOfApp,
  type UsagePeriod,
  usageOfApp,
  usageOfStream,
} from './usage.ts';

/** What a row of the answer is: a UTC day, an hour, a stream name (its totals), one publish of a name. */
export const USAGE_ROWS = ['day', 'hour', 'stream', 'publish'] as const;
export type UsageRows = (typeof USAGE_ROWS)[number];

/**
 * The longest range by day, stream or publish: a year (366 days, a leap year's). Each day is one
 * Query of its partition, 8 at a time; by day, a page reads only its own days.
 */
export const MAX_DAYS = 366;
/**
 * The longest range by hour: 31 days. Hours with nothing in them are left out, so how many rows
 * there are is known only once every day is read: each page of hours reads the whole range (31
 * Queries at most). And a source's minutes are spread over at most `MAX_SPAN_HOURS` (24) hours in
 * the hour items: past a month, the days answer better.
 */
export const MAX_HOUR_DAYS = 31;

/** A usage question that cannot be answered as asked: the message says why. */
export class InvalidUsageQuestionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUsageQuestionError';
  }
}

/** A usage question as it is asked: every field text, any of them missing. */
export interface UsageRequest {
  readonly app?: string;
  /** The first and last UTC day, `YYYY-MM-DD`, both included; either alone is that day; neither, today. */
  readonly from?: string;
  readonly to?: string;
  /** Default: `publish` with a stream, else `day`. */
  readonly by?: string;
  /** A stream name: its publishes (`by` publish). */
  readonly stream?: string;
}

/** A usage question that can be answered. */
export interface UsageQuestion {
  readonly app: string;
  readonly from: string;
  readonly to: string;
  readonly by: UsageRows;
  readonly stream?: string;
}

/** One row of an answer: a day's or hour's usage of an app, a stream name's totals, one publish. */
export type UsageRow = UsagePeriod | StreamTotals | PublishUsage;

/** An answer, or a page of it. */
export interface UsageAnswer extends UsageQuestion {
  readonly rows: readonly UsageRow[];
  /** How many rows the whole answer has, and whether more follow this page. */
  readonly total: number;
  readonly more: boolean;
}

const DAY_MS = 86_400_000;

/** `value` as a UTC day, or why not. */
function dayOf(field: string, value: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value)
    throw new InvalidUsageQuestionError(
      `${field} must be a UTC day as YYYY-MM-DD (2026-11-01), got "${value.slice(0, 40)}"`,
    );
  return value;
}

/**
 * `request` as a question that can be answered, or an `InvalidUsageQuestionError` saying why: no
 * app, a day that is not `YYYY-MM-DD`, a range backwards or longer than `MAX_DAYS` (by hour,
 * `MAX_HOUR_DAYS`), rows by something else than day, hour, stream or publish, or by publish without
 * a stream. Days are UTC; `now` gives today.
 */
export function usageQuestion(request: UsageRequest, now: Date = new Date()): UsageQuestion {
  const app = request.app?.trim();
  if (!app) throw new InvalidUsageQuestionError('an app is needed (the appKey whose usage to answer)');
  const stream = request.stream === undefined ? undefined : request.stream.trim();
  if (stream === '') throw new InvalidUsageQuestionError('a stream name cannot be empty');
  const by = request.by ?? (stream === undefined ? 'day' : 'publish');
  if (!(USAGE_ROWS as readonly string[]).includes(by))
    throw new InvalidUsageQuestionError(
      `by must be day, hour, stream or publish (with a stream), got "${by.slice(0, 40)}"`,
    );
  if (stream !== undefined && by !== 'publish')
    throw new InvalidUsageQuestionError(
      `a stream's usage is each of its publishes (by publish), not by ${by}; by ${by} is an app's`,
    );
  if (stream === undefined && by === 'publish')
    throw new InvalidUsageQuestionError('by publish needs a stream name: the publishes of which stream');
  const today = now.toISOString().slice(0, 10);
  const given = {
    from: request.from === undefined ? undefined : dayOf('from', request.from),
    to: request.to === undefined ? undefined : dayOf('to', request.to),
  };
  const from = given.from ?? given.to ?? today;
  const to = given.to ?? from;
  if (to < from)
    throw new InvalidUsageQuestionError(`the range is backwards: from ${from} is after to ${to}`);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  const most = by === 'hour' ? MAX_HOUR_DAYS : MAX_DAYS;
  if (days > most)
    throw new InvalidUsageQuestionError(
      `from ${from} to ${to} is ${days} days; by ${by} at most ${most}${by === 'hour' ? ' (a month: ask by day for longer)' : ' (a year)'}`,
    );
  return { app, from, to, by: by as UsageRows, ...(stream !== undefined && { stream }) };
}

/** Whether a day or hour saw anything of the app. */
const active = (p: UsagePeriod) =>
  p.sessions + p.publishes + p.plays + p.refusals + p.dataIn + p.dataOut + p.peakSessions + p.peakPlayers > 0;

/**
 * Whether `app` is one this deployment knows: it has a policy, an open session, or usage on a day
 * of `days` (not read when undefined: known to have none). Asked only of an answer with nothing in
 * it, to tell a mistyped app from a quiet one.
 */
async function isKnownApp(app: string, days: readonly string[] | undefined): Promise<boolean> {
  if (await findAppPolicy(app)) return true;
  if ((await listOpenSessions(app)).length > 0) return true;
  const [from, to] = [days?.[0], days?.at(-1)];
  return from !== undefined && to !== undefined && (await usageOfApp(app, from, to)).some(active);
}

/**
 * The answer to `question`, rows `offset` to `offset + limit` of it (all of them without `limit`).
 * By day, the page's days alone are read (one Query each, 8 at a time): a year is 366 Queries, a
 * page of 100 days 100. By hour, stream or publish, the range's every day is read and the page cut
 * from the whole (hours after `now`'s left out). An app that has nothing in the range, no policy and no open session is an
 * `InvalidUsageQuestionError` ("no app ..."): most likely a mistyped name.
 */
export async function answerUsage(
  question: UsageQuestion,
  page: { readonly offset?: number; readonly limit?: number } = {},
  now: Date = new Date(),
): Promise<UsageAnswer> {
  const { app, from, to, by, stream } = question;
  const offset = page.offset ?? 0;
  const end = page.limit === undefined ? undefined : offset + page.limit;
  const days = daysBetween(from, to);
  let rows: readonly UsageRow[];
  let total: number;
  /** Undefined when the answer has something; else the days still to look at for the app's usage. */
  let unseen: readonly string[] | undefined;
  if (by === 'day') {
    const wanted = days.slice(offset, end);
    const [first, last] = [wanted[0], wanted.at(-1)];
    const periods = first && last ? await usageOfApp(app, first, last, 'day') : [];
    rows = periods;
    total = days.length;
    if (!periods.some(active)) unseen = days.filter((day) => !wanted.includes(day));
  } else {
    const all: readonly UsageRow[] =
      by === 'hour'
        ? // An open session counts as present to the end of its day: not in the hours still to come.
          (await usageOfApp(app, from, to, 'hour')).filter((h) => h.period <= now.toISOString().slice(0, 13))
        : by === 'stream'
          ? await streamsOfApp(app, from, to)
          : await usageOfStream(app, stream ?? '', from, to);
    rows = all.slice(offset, end);
    total = all.length;
    // A stream's publishes say nothing of the app's other usage: that is read if need be.
    if (all.length === 0) unseen = by === 'publish' ? days : [];
  }
  if (unseen && !(await isKnownApp(app, unseen.length > 0 ? unseen : undefined)))
    throw new InvalidUsageQuestionError(
      `no app ${app}: it has no policy, no open session and no usage from ${from} to ${to} (apps list lists the apps with a policy)`,
    );
  return { ...question, rows, total, more: offset + rows.length < total };
}
