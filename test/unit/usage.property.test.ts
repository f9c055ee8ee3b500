/**
 * The usage aggregates (`shared/state/usage-model.ts`) equal a recomputation from the history
 * (fast-check property): sessions and streams drawn from the lifecycle generator, with their data
 * messages and refusals, become the images their items go through (ends found by reconciliation
 * carry the real end, earlier than its detection); their changes, as DynamoDB Streams records
 * (old and new image, a sequence number), are delivered in any order, with duplicates, to the
 * same apply code the consumer runs, over an in-memory store with DynamoDB's conditions. The sums
 * equal those of the latest images' contributions, and the counts, minutes and peaks read back
 * equal ones computed directly from the items. `PROPERTY_RUNS` sets the number of runs (default 100).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  addInto,
  applySourceChange,
  type Contribution,
  type SourceChange,
  type SourceTable,
  sourceOf,
  summarizeAppDay,
  summarizeNames,
  summarizeStream,
  type UsageStore,
  versionOf,
} from '../../shared/state/usage-model.ts';
import { type Lifecycle, lifecycle } from '../support/lifecycle.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 100);
const APP = 'app';
const BASE = Date.parse('2026-12-01T20:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The usage store of DynamoDB, in memory: the contribution's condition, the ADDs, the user markers. */
class MemoryStore implements UsageStore {
  readonly sums: Contribution = {};
  readonly contributions = new Map<string, { version: string; contribution: Contribution }>();
  readonly users = new Set<string>();
  async storedContribution(sourceId: string) {
    return this.contributions.get(sourceId);
  }
  async commit(
    sourceId: string,
    expected: string | undefined,
    version: string,
    contribution: Contribution,
    delta: Contribution,
  ) {
    if (this.contributions.get(sourceId)?.version !== expected) return false;
    this.contributions.set(sourceId, { version, contribution });
    addInto(this.sums, delta);
    return true;
  }
  async countUser(user: { aggregate: string; userId: string; shard: string }) {
    const marker = `${user.aggregate}|user#${user.userId}`;
    if (this.users.has(marker)) return;
    this.users.add(marker);
    addInto(this.sums, { [`${user.aggregate}|day#${user.shard}`]: { uniqueUsers: 1 } });
  }
  /** The items of an aggregate partition, as a Query returns them. */
  itemsOf(aggregate: string): Record<string, unknown>[] {
    return Object.entries(this.sums)
      .filter(([key]) => key.startsWith(`${aggregate}|`))
      .map(([key, fields]) => ({
        aggregateKey: aggregate,
        slot: key.slice(aggregate.length + 1),
        ...fields,
      }));
  }
}

/** A session drawn from the lifecycle generator, placed in time. */
interface Timed {
  readonly life: Lifecycle;
  readonly user: string | undefined;
  readonly startMinute: number;
  /** Minutes between the steps of its items; long ones cross midnight. */
  readonly gaps: readonly number[];
  /** An end WCS never reported, found by reconciliation (stamped with the real end). */
  readonly reconciled: boolean;
  readonly messages: readonly ('IN' | 'OUT')[];
  readonly refusals: readonly string[];
  /**
   * Attempts its decision hooks refused: each marked refused at the refusal (`refusedAt`) and
   * reported FAILED by WCS after it, the mark first or the FAILED first (a mark written late).
   */
  readonly refused: readonly {
    readonly kind: 'publish' | 'play' | 'connect';
    readonly failedFirst: boolean;
  }[];
}

const timed: fc.Arbitrary<Timed> = fc.record({
  life: lifecycle,
  user: fc.option(fc.constantFrom('alice', 'bob', 'carol'), { nil: undefined }),
  startMinute: fc.nat(3 * 24 * 60),
  gaps: fc.array(fc.oneof(fc.nat(5), fc.nat(200), fc.nat(600)), { minLength: 12, maxLength: 12 }),
  reconciled: fc.boolean(),
  messages: fc.array(fc.constantFrom('IN' as const, 'OUT' as const), { maxLength: 3 }),
  refusals: fc.array(fc.constantFrom('token expired', 'no such app', 'too many players'), { maxLength: 2 }),
  refused: fc.array(
    fc.record({
      kind: fc.constantFrom('publish' as const, 'play' as const, 'connect' as const),
      failedFirst: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
});

interface Item {
  readonly table: SourceTable;
  readonly images: Record<string, unknown>[];
}

/** The images each item of `spec` goes through, as the state layer writes them. */
function itemsOf(spec: Timed, n: number): Item[] {
  const gaps = [...spec.gaps];
  let t = BASE + spec.startMinute * MIN + 7_000;
  const step = () => {
    t += (gaps.shift() ?? 1) * MIN + 1_000;
    return t;
  };
  const sessionId = `s${n}`;
  const start = t;
  const session: Record<string, unknown> = {
    sessionId,
    appKey: APP,
    status: 'PENDING',
    firstStatusAt: iso(start),
    connectedAt: iso(start),
    ...(spec.user && { userId: spec.user }),
  };
  const sessionImages = [session, { ...session, status: 'ESTABLISHED', lastStatusAt: iso(step()) }];
  const items: Item[] = [];
  spec.life.streams.forEach((stream, i) => {
    const first = step();
    const live = stream.published ? 'PUBLISHING' : 'PLAYING';
    const base: Record<string, unknown> = {
      sessionId,
      mediaSessionId: `${sessionId}-m${i}`,
      appKey: APP,
      name: `cam${i % 2}`,
      published: stream.published,
      status: 'PENDING',
      firstStatusAt: iso(first),
      statusHistory: [{ status: 'PENDING', at: iso(first) }],
    };
    const images = [base];
    const last = () => images.at(-1) as Record<string, unknown>;
    const push = (changes: Record<string, unknown>, entry?: Record<string, unknown>) =>
      images.push({
        ...last(),
        ...changes,
        ...(entry && { statusHistory: [...(last().statusHistory as unknown[]), entry] }),
      });
    const liveAt = step();
    push({ status: live }, { status: live, at: iso(liveAt) });
    if (stream.keepAlive) push({ lastKeepAliveAt: iso(step()) });
    if (stream.end.startsWith('FAILED')) {
      const at = step();
      push(
        { status: 'FAILED', info: 'Failed by ICE error', endedAt: iso(at) },
        { status: 'FAILED', at: iso(at) },
      );
    }
    if (stream.end === 'normal' || stream.end === 'FAILED+normal') {
      const at = step();
      const ended = stream.published ? 'UNPUBLISHED' : 'STOPPED';
      push(last().status === 'FAILED' ? {} : { status: ended, endedAt: iso(at) }, {
        status: ended,
        at: iso(at),
      });
    } else if (stream.end === 'none' && spec.reconciled) {
      // Reconciliation: detected later, stamped with the last evidence of life.
      const happened = step();
      push({
        status: 'FAILED',
        info: 'Found ended by reconciliation',
        endedAt: iso(happened),
        endDetectedAt: iso(step()),
      });
    }
    items.push({ table: 'streams', images });
  });
  spec.messages.forEach((direction, i) => {
    const at = step();
    const message = { sessionId, operationId: `op${i}`, appKey: APP, direction, receivedAt: iso(at) };
    items.push({ table: 'dataMessages', images: [message, { ...message, status: 'ACCEPTED' }] });
  });
  spec.refusals.forEach((reason, i) => {
    const at = step();
    items.push({
      table: 'counters',
      images: [
        {
          counter: `refusals#${APP}#${iso(at).slice(0, 10)}`,
          window: `${iso(at)}#${sessionId}-${i}`,
          appKey: APP,
          method: 'playStream',
          reason,
          refusedAt: iso(at),
        },
      ],
    });
  });
  spec.refused.forEach(({ kind, failedFirst }, i) => {
    const at = step();
    const method = kind === 'connect' ? 'connect' : kind === 'publish' ? 'publishStream' : 'playStream';
    items.push({
      table: 'counters',
      images: [
        {
          counter: `refusals#${APP}#${iso(at).slice(0, 10)}`,
          window: `${iso(at)}#${sessionId}-r${i}`,
          appKey: APP,
          method,
          reason: 'refused',
          refusedAt: iso(at),
        },
      ],
    });
    const key =
      kind === 'connect'
        ? { sessionId: `${sessionId}-r${i}` }
        : { sessionId, mediaSessionId: `${sessionId}-r${i}`, name: 'cam0', published: kind === 'publish' };
    const mark = { ...key, appKey: APP, refusedAt: iso(at), refusal: 'refused' };
    const failedAt = iso(at + 1_000);
    const failed = {
      ...key,
      appKey: APP,
      status: 'FAILED',
      info: 'Rejected by the REST hook backend',
      firstStatusAt: failedAt,
      endedAt: failedAt,
      statusHistory: [{ status: 'FAILED', at: failedAt }],
    };
    items.push({
      table: kind === 'connect' ? 'sessions' : 'streams',
      images: failedFirst ? [failed, { ...failed, ...mark }] : [mark, { ...mark, ...failed }],
    });
  });
  const lastSession = () => sessionImages.at(-1) as Record<string, unknown>;
  if (spec.life.sessionEnd.startsWith('FAILED'))
    sessionImages.push({ ...lastSession(), status: 'FAILED', info: 'Failed by error', endedAt: iso(step()) });
  if (spec.life.sessionEnd.endsWith('DISCONNECTED') && lastSession().status !== 'FAILED')
    sessionImages.push({ ...lastSession(), status: 'DISCONNECTED', endedAt: iso(step()) });
  if (spec.life.sessionEnd === 'none' && spec.reconciled) {
    const happened = step();
    sessionImages.push({
      ...lastSession(),
      status: 'DISCONNECTED',
      endedAt: iso(happened),
      endDetectedAt: iso(step()),
    });
  }
  items.push({ table: 'sessions', images: sessionImages });
  return items;
}

/** The stream records of `items`: one per image, with the one before it, sequence numbers rising per item. */
function recordsOf(items: readonly Item[]): SourceChange[] {
  let sequence = 1000;
  return items.flatMap(({ table, images }) =>
    images.map((newImage, i) => ({
      table,
      newImage,
      ...(i > 0 && { oldImage: images[i - 1] }),
      version: versionOf(String(sequence++)),
    })),
  );
}

const runs = fc.array(timed, { minLength: 1, maxLength: 6 }).chain((specs) => {
  const items = specs.flatMap((spec, n) => itemsOf(spec, n));
  const records = recordsOf(items);
  return fc.record({
    items: fc.constant(items),
    records: fc.constant(records),
    duplicates: fc.array(fc.nat(records.length - 1), { maxLength: records.length }),
    keys: fc.array(fc.double({ noNaN: true }), {
      minLength: records.length * 2,
      maxLength: records.length * 2,
    }),
  });
});

/** Every day the items can reach: 3 days of starts, then up to 12 steps of 10 hours. */
const days = Array.from({ length: 10 }, (_, i) =>
  iso(Date.parse('2026-12-01T00:00:00Z') + i * 86_400_000).slice(0, 10),
);

describe('usage aggregates', () => {
  it('equal the contributions of the latest images, under any delivery order and with duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(runs, async ({ items, records, duplicates, keys }) => {
        // Arrange: every record once, some again, in an order of their own.
        const deliveries = [...records, ...duplicates.map((i) => records[i] as SourceChange)]
          .map((change, i) => ({ change, key: keys[i] ?? 0 }))
          .sort((a, b) => a.key - b.key)
          .map((d) => d.change);
        const store = new MemoryStore();

        // Act
        for (const change of deliveries) await applySourceChange(store, change);

        // Assert: the sums are those of the latest images.
        const recomputed: Contribution = {};
        const users = new Set<string>();
        const finals = items.map((item) => ({
          table: item.table,
          image: item.images.at(-1) as Record<string, unknown>,
        }));
        for (const { table, image } of finals) {
          const source = sourceOf(table, image);
          if (!source) continue;
          addInto(recomputed, source.contribution);
          if (source.user && !users.has(`${source.user.aggregate}#${source.user.userId}`)) {
            users.add(`${source.user.aggregate}#${source.user.userId}`);
            addInto(recomputed, {
              [`${source.user.aggregate}|day#${source.user.shard}`]: { uniqueUsers: 1 },
            });
          }
        }
        expect(shardsSummed(store.sums)).toEqual(shardsSummed(recomputed));

        // And what reads back equals what the items say, computed directly.
        // Admitted attempts only: a refused one is a refusal, counted once, apart.
        const admitted = finals.filter((f) => f.image.refusedAt === undefined);
        const sessions = admitted.filter((f) => f.table === 'sessions').map((f) => f.image);
        const streams = admitted.filter((f) => f.table === 'streams').map((f) => f.image);
        const plays = streams.filter((image) => image.published === false);
        const usage = days.map((day) => summarizeAppDay(day, store.itemsOf(`app#${APP}#${day}`)).day);
        expect(usage.reduce((n, d) => n + d.sessions, 0)).toBe(sessions.length);
        expect(usage.reduce((n, d) => n + d.anonymousSessions, 0)).toBe(
          sessions.filter((s) => !s.userId).length,
        );
        const viewerMs = plays
          .filter((p) => p.endedAt)
          .reduce((n, p) => {
            const live = (p.statusHistory as { status: string; at: string }[]).find(
              (e) => e.status === 'PLAYING',
            );
            return n + Math.max(0, Date.parse(String(p.endedAt)) - Date.parse(String(live?.at)));
          }, 0);
        expect(usage.reduce((n, d) => n + d.viewerMinutes, 0)).toBeCloseTo(viewerMs / MIN, 0);
        for (const [i, day] of days.entries())
          expect(usage[i]?.peakSessions).toBe(peakOfSessions(sessions, day));
        const refusals = finals.filter((f) => f.table === 'counters').length;
        expect(usage.reduce((n, d) => n + d.refusals, 0)).toBe(refusals);
        const failures = [...sessions, ...streams].filter((image) => image.status === 'FAILED').length;
        const failed = (d: (typeof usage)[number]) =>
          Object.values(d.failuresByReason).reduce((n, k) => n + k, 0);
        expect(usage.reduce((n, d) => n + failed(d), 0)).toBe(failures);
        expect(usage.reduce((n, d) => n + d.plays, 0)).toBe(plays.length);
        expect(usage.reduce((n, d) => n + d.publishes, 0)).toBe(streams.length - plays.length);
        // The stream names' totals (the top streams): every publish and play, and their viewing.
        const names = summarizeNames(days.flatMap((day) => store.itemsOf(`app#${APP}#${day}`)));
        const publishes = streams.length - plays.length;
        expect(names.reduce((n, s) => n + s.plays, 0)).toBe(plays.length);
        expect(names.reduce((n, s) => n + s.publishes, 0)).toBe(publishes);
        expect(names.reduce((n, s) => n + s.viewerMinutes, 0)).toBeCloseTo(viewerMs / MIN, 0);
      }),
      { numRuns: RUNS },
    );
  });
});

/** `sums` with the shards of each item added together, as the readers add them. */
function shardsSummed(sums: Contribution): Contribution {
  const merged: Contribution = {};
  for (const [key, fields] of Object.entries(sums))
    addInto(merged, {
      [key.replace(/^(.*\|(?:day|hour#\d\d|minute#\d\d))#\d\d$/, '$1')]: fields,
    } as Contribution);
  return merged;
}

/** The most sessions present in one minute of `day`, counted from the items (open ones to the end of their first day). */
function peakOfSessions(sessions: readonly Record<string, unknown>[], day: string): number {
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const minuteOf = (ms: number) => Math.floor(ms / MIN);
  const first = minuteOf(dayStart);
  const counts = new Array<number>(1440).fill(0);
  for (const s of sessions) {
    const start = minuteOf(Date.parse(String(s.firstStatusAt)));
    const ended = s.status === 'DISCONNECTED' || s.status === 'FAILED';
    const end = ended
      ? minuteOf(Date.parse(String(s.endedAt)))
      : minuteOf(Math.floor(Date.parse(String(s.firstStatusAt)) / 86_400_000) * 86_400_000 + 86_400_000) - 1;
    for (let m = Math.max(start, first); m <= Math.min(end, first + 1439); m++)
      counts[m - first] = (counts[m - first] ?? 0) + 1;
  }
  const peak = Math.max(0, ...counts);
  return peak;
}

describe('a busy stream', () => {
  it('spreads 10,000 players joining in one minute over the 16 shards of each aggregate item', () => {
    // Arrange
    const perShard = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const item = {
        sessionId: `v${i}`,
        mediaSessionId: `v${i}`,
        appKey: APP,
        name: 'busy',
        published: false,
        status: 'PLAYING',
        firstStatusAt: '2026-12-01T10:00:01.000Z',
        statusHistory: [{ status: 'PLAYING', at: '2026-12-01T10:00:02.000Z' }],
      };

      // Act
      const keys = Object.keys(sourceOf('streams', item)?.contribution ?? {});
      for (const key of keys.filter((k) => k.includes('|minute#')))
        perShard.set(key, (perShard.get(key) ?? 0) + 1);
    }

    // Assert: no item takes more than twice its share (625).
    expect(perShard.size).toBe(16);
    expect(Math.max(...perShard.values())).toBeLessThan(2 * 625);
  });
});

describe('usage of a stream name', () => {
  it('gives each publish its players, viewer-minutes and peak of players, to the minute', () => {
    // Arrange: a publish from 10:00 to 11:00, two players within it, one after it.
    const contributions: Contribution = {};
    const publish = {
      sessionId: 'p',
      mediaSessionId: 'pub',
      appKey: APP,
      name: 'cam',
      published: true,
      status: 'UNPUBLISHED',
      firstStatusAt: '2026-12-01T09:59:30.000Z',
      statusHistory: [{ status: 'PUBLISHING', at: '2026-12-01T10:00:00.000Z' }],
      endedAt: '2026-12-01T11:00:00.000Z',
    };
    const play = (id: string, from: string, to: string) => ({
      sessionId: id,
      mediaSessionId: id,
      appKey: APP,
      name: 'cam',
      published: false,
      status: 'STOPPED',
      firstStatusAt: from,
      statusHistory: [{ status: 'PLAYING', at: from }],
      endedAt: to,
    });
    for (const item of [
      publish,
      play('a', '2026-12-01T10:05:00.000Z', '2026-12-01T10:35:00.000Z'),
      play('b', '2026-12-01T10:20:00.000Z', '2026-12-01T10:50:00.000Z'),
      play('c', '2026-12-01T11:30:00.000Z', '2026-12-01T11:40:00.000Z'),
    ])
      addInto(contributions, sourceOf('streams', item)?.contribution ?? {});
    const aggregate = `name#${APP}#cam#2026-12-01`;
    const items = Object.entries(contributions)
      .filter(([key]) => key.startsWith(`${aggregate}|`))
      .map(([key, fields]) => ({
        aggregateKey: aggregate,
        slot: key.slice(aggregate.length + 1),
        ...fields,
      }));

    // Act
    const [usage] = summarizeStream([{ day: '2026-12-01', items }]);

    // Assert
    expect(usage).toEqual({
      mediaSessionId: 'pub',
      start: '2026-12-01T10:00:00.000Z',
      end: '2026-12-01T11:00:00.000Z',
      durationMinutes: 60,
      live: true,
      failed: false,
      players: 2,
      viewerMinutes: 60,
      peakPlayers: 2,
      peakPlayersAt: '2026-12-01T10:20Z',
    });
  });
});
