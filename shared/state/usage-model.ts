/**
 * The usage model, pure: what one source item (a session, a publish or play, a data message, a
 * refusal) contributes to the usage aggregates, as numbers added to aggregate items, and how those
 * items read back as usage per app and period or per stream. No DynamoDB here: `usage.ts` owns the
 * `usage` table and applies these contributions (docs/data-model.md, "`usage`").
 *
 * A contribution is a function of the source's latest image alone, so applying the difference
 * between what a source contributes now and what it last contributed is idempotent and
 * order-independent: the aggregates always equal the sum of the contributions of the latest
 * applied image of every source.
 */
import { createHash } from 'node:crypto';

/** Counter items per aggregate: a source's numbers go to one of them, chosen by its id. */
export const USAGE_SHARDS = 16;
/** A source's minutes and presence are spread over at most this many UTC days from its start. */
export const MAX_SPAN_DAYS = 14;
/** A source's minutes are spread over at most this many hours in the per-hour items. */
export const MAX_SPAN_HOURS = 24;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Where a contribution goes: the aggregate (partition) and slot (sort key) of a usage item. */
export type TargetKey = `${string}|${string}`;
/** The numbers a source adds, by item, by attribute. */
export type Contribution = Record<TargetKey, Record<string, number>>;

/** The tables whose items are sources. */
export type SourceTable = 'sessions' | 'streams' | 'dataMessages' | 'counters';

/** A day's aggregate partition of an app. */
export const appDay = (appKey: string, day: string) => `app#${appKey}#${day}`;
/** A day's aggregate partition of a stream name of an app. */
export const nameDay = (appKey: string, name: string, day: string) => `name#${appKey}#${name}#${day}`;
/** Where a source keeps what it last contributed. */
export const sourceAggregate = (sourceId: string) => `source#${sourceId}`;

const pad2 = (n: number) => String(n).padStart(2, '0');
/** The shard of a source: its id hashed over `USAGE_SHARDS`. */
export function shardOf(sourceId: string): string {
  return pad2(createHash('sha256').update(sourceId).digest().readUInt32BE(0) % USAGE_SHARDS);
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const hourOf = (ms: number) => new Date(ms).toISOString().slice(11, 13);
const minuteOf = (ms: number) => new Date(ms).toISOString().slice(14, 16);
const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const msOf = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
};

/** A reason as one attribute name: `<prefix>#<what>: <text>`, at most 200 characters of text. */
const reasonKey = (prefix: string, what: string, text: unknown) =>
  `${prefix}#${what}: ${String(text ?? '').slice(0, 200) || '-'}`;

class Builder {
  readonly contribution: Contribution = {};
  readonly shard: string;
  constructor(shard: string) {
    this.shard = shard;
  }
  add(aggregate: string, slot: string, field: string, value: number) {
    if (value === 0) return;
    const key: TargetKey = `${aggregate}|${slot}`;
    const fields = this.contribution[key] ?? {};
    fields[field] = (fields[field] ?? 0) + value;
    this.contribution[key] = fields;
  }
  /** To the app's day totals and the hour's, at `ms`. */
  atPeriod(appKey: string, ms: number, field: string, value: number) {
    const aggregate = appDay(appKey, dayOf(ms));
    this.add(aggregate, `day#${this.shard}`, field, value);
    this.add(aggregate, `hour#${hourOf(ms)}#${this.shard}`, field, value);
  }
  /** Milliseconds of [from, to) to the app's days and (up to `MAX_SPAN_HOURS`) hours they fall in. */
  spread(appKey: string, from: number, to: number, field: string) {
    const end = Math.min(to, from + MAX_SPAN_DAYS * DAY_MS);
    for (let day = floorTo(from, DAY_MS); day < end; day += DAY_MS) {
      const part = Math.min(end, day + DAY_MS) - Math.max(from, day);
      this.add(appDay(appKey, dayOf(day)), `day#${this.shard}`, field, part);
    }
    const hoursEnd = Math.min(to, floorTo(from, HOUR_MS) + MAX_SPAN_HOURS * HOUR_MS);
    for (let hour = floorTo(from, HOUR_MS); hour < hoursEnd; hour += HOUR_MS) {
      const part = Math.min(hoursEnd, hour + HOUR_MS) - Math.max(from, hour);
      this.add(appDay(appKey, dayOf(hour)), `hour#${hourOf(hour)}#${this.shard}`, field, part);
    }
  }
  /**
   * Presence from `from` to `to` (open: to the end of its first day) as per-minute deltas: +1 in the
   * minute it began, -1 in the minute after the one it ended in, and +1 at 00:00 of each later day
   * it spans, so that each day's concurrency is the running sum of its own minutes.
   * `slotOf(hour)` names the item of an hour; `field` is the prefix of the minute attributes.
   */
  /** `presence` in `appKey`'s day items, in this source's shard of each hour. */
  appPresence(appKey: string, field: string, from: number, to: number | undefined) {
    this.presence(
      (day) => appDay(appKey, day),
      (hour) => `hour#${hour}#${this.shard}`,
      field,
      from,
      to,
    );
  }

  presence(
    aggregateOf: (day: string) => string,
    slotOf: (hour: string) => string,
    field: string,
    from: number,
    to: number | undefined,
  ) {
    const mark = (ms: number, delta: number) =>
      this.add(aggregateOf(dayOf(ms)), slotOf(hourOf(ms)), `${field}${minuteOf(ms)}`, delta);
    mark(from, 1);
    if (to === undefined) return;
    const after = floorTo(Math.max(to, from), MINUTE_MS) + MINUTE_MS;
    const limit = floorTo(from, DAY_MS) + MAX_SPAN_DAYS * DAY_MS;
    for (let day = floorTo(from, DAY_MS) + DAY_MS; day < Math.min(after, limit); day += DAY_MS) mark(day, 1);
    // At 00:00 a day begins afresh: nothing to take away there.
    if (after < limit && after % DAY_MS !== 0) mark(after, -1);
  }
}

/** A source item: its id, and what it contributes now. Undefined for an item that is no source. */
export interface Source {
  readonly sourceId: string;
  readonly contribution: Contribution;
  /** The user to count once per app and day (the day of the session's start), if any. */
  readonly user?: { readonly aggregate: string; readonly userId: string; readonly shard: string };
}

/** When a stream first went live: the earliest PUBLISHING or PLAYING in its history. */
export function liveAtOf(item: Record<string, unknown>): number | undefined {
  const history = Array.isArray(item.statusHistory) ? (item.statusHistory as Record<string, unknown>[]) : [];
  const times = history
    .filter((entry) => entry.status === 'PUBLISHING' || entry.status === 'PLAYING')
    .map((entry) => msOf(entry.at))
    .filter((ms): ms is number => ms !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

const ENDED = new Set(['DISCONNECTED', 'FAILED', 'UNPUBLISHED', 'STOPPED']);

/**
 * What `item`, the latest image of an item of `table`, contributes to the usage aggregates
 * (docs/data-model.md lists each number). An item that is not a source (a counter of minutes, a
 * node's counts, an item without an app) contributes nothing and gives undefined.
 */
export function sourceOf(table: SourceTable, item: Record<string, unknown>): Source | undefined {
  const appKey = typeof item.appKey === 'string' ? item.appKey : undefined;
  if (!appKey) return undefined;
  if (table === 'sessions') return sessionSource(appKey, item);
  if (table === 'streams') return streamSource(appKey, item);
  if (table === 'dataMessages') {
    const at = msOf(item.receivedAt);
    if (at === undefined || typeof item.sessionId !== 'string') return undefined;
    const sourceId = `data#${item.sessionId}#${String(item.operationId)}`;
    const b = new Builder(shardOf(sourceId));
    b.atPeriod(appKey, at, item.direction === 'OUT' ? 'dataOut' : 'dataIn', 1);
    return { sourceId, contribution: b.contribution };
  }
  // counters: only the record of one refusal is a source.
  const at = msOf(item.refusedAt);
  if (!String(item.counter ?? '').startsWith('refusals#') || at === undefined) return undefined;
  const sourceId = `refusal#${String(item.counter)}#${String(item.window)}`;
  const b = new Builder(shardOf(sourceId));
  b.atPeriod(appKey, at, 'refusals', 1);
  b.atPeriod(appKey, at, reasonKey('refused', String(item.method), item.reason), 1);
  return { sourceId, contribution: b.contribution };
}

/**
 * Marked refused by its decision hook (`refusedAt`): an attempt that was never admitted. Its
 * refusal is counted once, from its record in `counters`; the item, which WCS's FAILED makes look
 * like a failure, contributes nothing (and takes back what an image before the mark added).
 */
const isRefused = (item: Record<string, unknown>) => typeof item.refusedAt === 'string';

function sessionSource(appKey: string, item: Record<string, unknown>): Source | undefined {
  const sourceId = `session#${String(item.sessionId)}#${Number(item.generation ?? 1)}`;
  if (isRefused(item)) return { sourceId, contribution: {} };
  const start = msOf(item.generationStartedAt) ?? msOf(item.firstStatusAt);
  if (start === undefined) return undefined;
  const b = new Builder(shardOf(sourceId));
  const userId = typeof item.userId === 'string' && item.userId !== '' ? item.userId : undefined;
  b.atPeriod(appKey, start, 'sessions', 1);
  if (!userId) b.atPeriod(appKey, start, 'anonymousSessions', 1);
  if (item.status === 'FAILED') b.atPeriod(appKey, start, reasonKey('failed', 'session', item.info), 1);
  const end = ENDED.has(String(item.status)) ? (msOf(item.endedAt) ?? start) : undefined;
  b.appPresence(appKey, 's', start, end);
  return {
    sourceId,
    contribution: b.contribution,
    ...(userId && { user: { aggregate: appDay(appKey, dayOf(start)), userId, shard: b.shard } }),
  };
}

function streamSource(appKey: string, item: Record<string, unknown>): Source | undefined {
  const sourceId = `stream#${String(item.mediaSessionId)}`;
  if (isRefused(item)) return { sourceId, contribution: {} };
  const first = msOf(item.firstStatusAt);
  const name = typeof item.name === 'string' ? item.name : undefined;
  if (first === undefined || name === undefined) return undefined;
  const b = new Builder(shardOf(sourceId));
  const published = item.published === true;
  const kind = published ? 'publish' : 'play';
  b.atPeriod(appKey, first, published ? 'publishes' : 'plays', 1);
  if (item.status === 'FAILED') b.atPeriod(appKey, first, reasonKey('failed', kind, item.info), 1);
  const live = liveAtOf(item);
  const ended = ENDED.has(String(item.status));
  const end = ended ? Math.max(msOf(item.endedAt) ?? first, live ?? first) : undefined;
  if (live !== undefined && end !== undefined)
    b.spread(appKey, live, end, published ? 'publishMs' : 'viewerMs');
  // The name's totals in the app's day (the day it began), for the top streams of an app: one Query
  // of the day's `name#` items lists every name used that day (sharded: a busy name is no hot key).
  const totals = `name#${name}#${b.shard}`;
  b.add(appDay(appKey, dayOf(first)), totals, published ? 'publishes' : 'plays', 1);
  if (live !== undefined && end !== undefined)
    b.add(appDay(appKey, dayOf(first)), totals, published ? 'publishMs' : 'viewerMs', end - live);
  if (published) {
    // One publish of the name: its facts, alone in their item (no other source adds to it).
    const at = live ?? first;
    const publish = `publish#${String(item.mediaSessionId)}`;
    const aggregate = nameDay(appKey, name, dayOf(at));
    b.add(aggregate, publish, 'startMs', at);
    b.add(aggregate, publish, 'live', live !== undefined ? 1 : 0);
    if (end !== undefined) b.add(aggregate, publish, 'endMs', end);
    if (item.status === 'FAILED') b.add(aggregate, publish, 'failed', 1);
  } else if (live !== undefined) {
    b.appPresence(appKey, 'p', live, end);
    const perName = (day: string) => nameDay(appKey, name, day);
    const minuteSlot = (hour: string) => `minute#${hour}#${b.shard}`;
    b.presence(perName, minuteSlot, 'p', live, end);
    // Players and viewer-minutes of the name, by the minute the play went live.
    b.add(perName(dayOf(live)), minuteSlot(hourOf(live)), `n${minuteOf(live)}`, 1);
    if (end !== undefined)
      b.add(perName(dayOf(live)), minuteSlot(hourOf(live)), `v${minuteOf(live)}`, end - live);
  }
  return { sourceId, contribution: b.contribution };
}

/** What must be added to move the aggregates from contribution `before` to `after`: no zeros. */
export function deltaOf(before: Contribution | undefined, after: Contribution | undefined): Contribution {
  const delta: Contribution = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]) as Set<TargetKey>;
  for (const key of keys) {
    const old = before?.[key] ?? {};
    const now = after?.[key] ?? {};
    for (const field of new Set([...Object.keys(old), ...Object.keys(now)])) {
      const change = (now[field] ?? 0) - (old[field] ?? 0);
      if (change !== 0) delta[key] = { ...delta[key], [field]: change };
    }
  }
  return delta;
}

/** `sum` with `contribution` added in place: a recomputation, or an in-memory store. */
export function addInto(sum: Contribution, contribution: Contribution): Contribution {
  for (const [key, fields] of Object.entries(contribution) as [TargetKey, Record<string, number>][]) {
    for (const [field, value] of Object.entries(fields)) {
      const target = sum[key] ?? {};
      sum[key] = target;
      target[field] = (target[field] ?? 0) + value;
      if (target[field] === 0) delete target[field];
    }
    if (Object.keys(sum[key] ?? {}).length === 0) delete sum[key];
  }
  return sum;
}

/** A DynamoDB Streams sequence number as a version that compares as text (up to 40 digits). */
export const versionOf = (sequenceNumber: string) => sequenceNumber.padStart(40, '0');

/** What changed a source, as the usage consumer sees it: a record of a table's stream. */
export interface SourceChange {
  readonly table: SourceTable;
  readonly oldImage?: Record<string, unknown>;
  readonly newImage?: Record<string, unknown>;
  /** The record's sequence number as a version (`versionOf`): later changes of an item are greater. */
  readonly version: string;
}

/** What a usage store does, in DynamoDB (`usage.ts`) or in memory (the property test). */
export interface UsageStore {
  /** What the source last contributed, and the version of the change that did. */
  storedContribution(sourceId: string): Promise<{ version: string; contribution: Contribution } | undefined>;
  /**
   * Records `contribution` at `version` as the source's and adds `delta` to the aggregates, all or
   * nothing, provided its stored version is still `expected` (undefined: none yet). False if not.
   */
  commit(
    sourceId: string,
    expected: string | undefined,
    version: string,
    contribution: Contribution,
    delta: Contribution,
  ): Promise<boolean>;
  /** Marks the user seen on the app's day and adds one to its unique users, once whatever the calls. */
  countUser(user: NonNullable<Source['user']>): Promise<void>;
}

const sameContribution = (a: Source | undefined, b: Source | undefined) =>
  JSON.stringify(a?.contribution ?? {}) === JSON.stringify(b?.contribution ?? {}) &&
  a?.user?.aggregate === b?.user?.aggregate &&
  a?.user?.userId === b?.user?.userId;

/**
 * Applies one change to the aggregates, idempotently and whatever the order of delivery: a change
 * whose new image contributes what its old image did changes nothing (a keep-alive, an ESTABLISHED)
 * and writes nothing; else the source's stored contribution is replaced by the new image's, and the
 * difference added, unless a later change of it was applied already. A removal (TTL) keeps what
 * the item contributed: usage outlives the items it counts.
 */
export async function applySourceChange(store: UsageStore, change: SourceChange): Promise<void> {
  if (!change.newImage) return;
  const before = change.oldImage && sourceOf(change.table, change.oldImage);
  const after = sourceOf(change.table, change.newImage);
  if (!after || sameContribution(before, after)) return;
  if (
    after.user &&
    (before?.user?.aggregate !== after.user.aggregate || before.user.userId !== after.user.userId)
  )
    await store.countUser(after.user);
  for (let attempt = 0; attempt < 8; attempt++) {
    const stored = await store.storedContribution(after.sourceId);
    if (stored && stored.version >= change.version) return;
    const delta = deltaOf(stored?.contribution, after.contribution);
    if (await store.commit(after.sourceId, stored?.version, change.version, after.contribution, delta))
      return;
  }
  throw new Error(`usage of ${after.sourceId} kept changing under this change (${change.version})`);
}

/** Usage of an app over one period (a UTC day, or an hour of it). */
export interface UsagePeriod {
  /** `2026-12-07`, or `2026-12-07T14` for an hour. */
  readonly period: string;
  readonly sessions: number;
  /** Sessions without a token's user: each counts as a user of its own. */
  readonly anonymousSessions: number;
  /** Distinct token users whose session began that day (days only; hours leave it out). */
  readonly uniqueUsers?: number;
  readonly publishes: number;
  readonly plays: number;
  readonly publishMinutes: number;
  readonly viewerMinutes: number;
  /** The most sessions present in one minute, and the first minute (`2026-12-07T14:05Z`) it was reached. */
  readonly peakSessions: number;
  readonly peakSessionsAt?: string;
  /** The most players (PLAYING) present in one minute, and when. */
  readonly peakPlayers: number;
  readonly peakPlayersAt?: string;
  readonly refusals: number;
  /** `<method>: <reason>` → count. */
  readonly refusalsByReason: Readonly<Record<string, number>>;
  /** `<session|publish|play>: <info>` → count of those that ended FAILED. */
  readonly failuresByReason: Readonly<Record<string, number>>;
  readonly dataIn: number;
  readonly dataOut: number;
}

const minutesOf = (ms: number) => Math.round((ms / MINUTE_MS) * 100) / 100;

function periodOf(period: string, sums: Record<string, number>): UsagePeriod {
  const byPrefix = (prefix: string) =>
    Object.fromEntries(
      Object.entries(sums)
        .filter(([field, n]) => field.startsWith(`${prefix}#`) && n !== 0)
        .map(([field, n]) => [field.slice(prefix.length + 1), n]),
    );
  return {
    period,
    sessions: sums.sessions ?? 0,
    anonymousSessions: sums.anonymousSessions ?? 0,
    ...(period.length === 10 && { uniqueUsers: sums.uniqueUsers ?? 0 }),
    publishes: sums.publishes ?? 0,
    plays: sums.plays ?? 0,
    publishMinutes: minutesOf(sums.publishMs ?? 0),
    viewerMinutes: minutesOf(sums.viewerMs ?? 0),
    peakSessions: 0,
    peakPlayers: 0,
    refusals: sums.refusals ?? 0,
    refusalsByReason: byPrefix('refused'),
    failuresByReason: byPrefix('failed'),
    dataIn: sums.dataIn ?? 0,
    dataOut: sums.dataOut ?? 0,
  };
}

const sumInto = (sums: Record<string, number>, item: Record<string, unknown>) => {
  for (const [field, value] of Object.entries(item))
    if (typeof value === 'number' && field !== 'expiresAt' && !/^[spnv]\d\d$/.test(field))
      sums[field] = (sums[field] ?? 0) + value;
};

/** The running sum of per-minute deltas (attributes `<prefix><MM>` of per-hour items) over one day. */
function concurrencyOfDay(
  hourItems: readonly Record<string, unknown>[],
  hourOfItem: (item: Record<string, unknown>) => string,
  prefix: string,
): number[] {
  const deltas = new Array<number>(1440).fill(0);
  for (const item of hourItems) {
    const hour = Number(hourOfItem(item));
    for (const [field, value] of Object.entries(item)) {
      if (field.length !== 3 || field[0] !== prefix || typeof value !== 'number') continue;
      const minute = Number(field.slice(1));
      if (Number.isInteger(minute)) deltas[hour * 60 + minute] = (deltas[hour * 60 + minute] ?? 0) + value;
    }
  }
  let running = 0;
  return deltas.map((d) => {
    running += d;
    return running;
  });
}

function peakOf(levels: readonly number[], from: number, to: number, at: (minute: number) => string) {
  let peak = 0;
  let when: number | undefined;
  for (let m = from; m < to; m++)
    if ((levels[m] ?? 0) > peak) {
      peak = levels[m] ?? 0;
      when = m;
    }
  return { peak, ...(when !== undefined && { at: at(when) }) };
}

/**
 * The usage of an app on `day`, and per hour, from the items of its day partition (`day#…`,
 * `hour#…`; user markers are ignored): the shards summed, the peaks from the minutes' presence.
 */
export function summarizeAppDay(
  day: string,
  items: readonly Record<string, unknown>[],
): { day: UsagePeriod; hours: UsagePeriod[] } {
  const daySums: Record<string, number> = {};
  const hourSums = new Map<string, Record<string, number>>();
  const hourItems = items.filter((item) => String(item.slot).startsWith('hour#'));
  const hourOfItem = (item: Record<string, unknown>) => String(item.slot).slice(5, 7);
  for (const item of items) {
    if (String(item.slot).startsWith('day#')) sumInto(daySums, item);
    else if (String(item.slot).startsWith('hour#')) {
      const hour = hourOfItem(item);
      sumInto(hourSums.get(hour) ?? hourSums.set(hour, {}).get(hour) ?? {}, item);
    }
  }
  const sessions = concurrencyOfDay(hourItems, hourOfItem, 's');
  const players = concurrencyOfDay(hourItems, hourOfItem, 'p');
  const at = (minute: number) => `${day}T${pad2(Math.floor(minute / 60))}:${pad2(minute % 60)}Z`;
  const withPeaks = (period: UsagePeriod, from: number, to: number): UsagePeriod => {
    const s = peakOf(sessions, from, to, at);
    const p = peakOf(players, from, to, at);
    return {
      ...period,
      peakSessions: s.peak,
      ...(s.at && { peakSessionsAt: s.at }),
      peakPlayers: p.peak,
      ...(p.at && { peakPlayersAt: p.at }),
    };
  };
  const hours: UsagePeriod[] = [];
  for (let h = 0; h < 24; h++) {
    const sums = hourSums.get(pad2(h));
    const peaks = withPeaks(periodOf(`${day}T${pad2(h)}`, sums ?? {}), h * 60, h * 60 + 60);
    if (sums || peaks.peakSessions > 0 || peaks.peakPlayers > 0) hours.push(peaks);
  }
  return { day: withPeaks(periodOf(day, daySums), 0, 1440), hours };
}

/** One publish of a stream name, and its players. */
export interface PublishUsage {
  readonly mediaSessionId: string;
  /** When it went live (or was asked for, if it never did), and ended; absent while it goes on. */
  readonly start: string;
  readonly end?: string;
  readonly durationMinutes?: number;
  readonly live: boolean;
  readonly failed: boolean;
  /** Plays of the name that went live from its start minute to its end minute. */
  readonly players: number;
  readonly viewerMinutes: number;
  readonly peakPlayers: number;
  readonly peakPlayersAt?: string;
}

/**
 * The publishes of a stream name from the items of its day partitions (`name#<app>#<name>#<day>`,
 * each with its `day`): each publish's facts, and the players of the name in its time, to the minute.
 */
export function summarizeStream(
  days: readonly { day: string; items: readonly Record<string, unknown>[] }[],
  now: Date = new Date(),
): PublishUsage[] {
  // Per epoch minute: players present, players who went live, viewer ms of those.
  const present = new Map<number, number>();
  const joined = new Map<number, number>();
  const viewed = new Map<number, number>();
  const publishes: Record<string, unknown>[] = [];
  for (const { day, items } of days) {
    const minuteItems = items.filter((item) => String(item.slot).startsWith('minute#'));
    const hourOfItem = (item: Record<string, unknown>) => String(item.slot).slice(7, 9);
    const levels = concurrencyOfDay(minuteItems, hourOfItem, 'p');
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    levels.forEach((level, m) => {
      if (level !== 0) present.set(dayStart + m * MINUTE_MS, level);
    });
    for (const item of minuteItems)
      for (const [field, value] of Object.entries(item)) {
        const match = /^([nv])(\d\d)$/.exec(field);
        if (!match || typeof value !== 'number') continue;
        const minute = dayStart + (Number(hourOfItem(item)) * 60 + Number(match[2])) * MINUTE_MS;
        const into = match[1] === 'n' ? joined : viewed;
        into.set(minute, (into.get(minute) ?? 0) + value);
      }
    for (const item of items) if (String(item.slot).startsWith('publish#')) publishes.push(item);
  }
  return publishes
    .map((item) => {
      const startMs = Number(item.startMs);
      const endMs = typeof item.endMs === 'number' ? item.endMs : undefined;
      const from = floorTo(startMs, MINUTE_MS);
      const to = floorTo(endMs ?? now.getTime(), MINUTE_MS);
      let players = 0;
      let viewerMs = 0;
      let peak = 0;
      let peakAt: number | undefined;
      for (let m = from; m <= to; m += MINUTE_MS) {
        players += joined.get(m) ?? 0;
        viewerMs += viewed.get(m) ?? 0;
        if ((present.get(m) ?? 0) > peak) {
          peak = present.get(m) ?? 0;
          peakAt = m;
        }
      }
      return {
        mediaSessionId: String(item.slot).slice('publish#'.length),
        start: new Date(startMs).toISOString(),
        ...(endMs !== undefined && {
          end: new Date(endMs).toISOString(),
          durationMinutes: minutesOf(endMs - startMs),
        }),
        live: item.live === 1,
        failed: item.failed === 1,
        players,
        viewerMinutes: minutesOf(viewerMs),
        peakPlayers: peak,
        ...(peakAt !== undefined && { peakPlayersAt: `${new Date(peakAt).toISOString().slice(0, 16)}Z` }),
      };
    })
    .sort((a, b) => a.start.localeCompare(b.start));
}

/** A stream name's usage in an app over a range of days: its publishes and plays that began in it. */
export interface StreamTotals {
  readonly name: string;
  readonly publishes: number;
  readonly publishMinutes: number;
  readonly plays: number;
  readonly viewerMinutes: number;
}

/**
 * The stream names of an app from the `name#<name>#<shard>` items of its day partitions, the shards
 * and days summed: most viewer-minutes first, then most plays, then by name.
 */
export function summarizeNames(items: readonly Record<string, unknown>[]): StreamTotals[] {
  const sums = new Map<string, Record<string, number>>();
  for (const item of items) {
    const slot = String(item.slot);
    if (!slot.startsWith('name#')) continue;
    const name = slot.slice('name#'.length, slot.lastIndexOf('#'));
    sumInto(sums.get(name) ?? sums.set(name, {}).get(name) ?? {}, item);
  }
  return [...sums]
    .map(([name, s]) => ({
      name,
      publishes: s.publishes ?? 0,
      publishMinutes: minutesOf(s.publishMs ?? 0),
      plays: s.plays ?? 0,
      viewerMinutes: minutesOf(s.viewerMs ?? 0),
    }))
    .sort((a, b) => b.viewerMinutes - a.viewerMinutes || b.plays - a.plays || a.name.localeCompare(b.name));
}
