/**
 * SQL over an export, locally: data made through the real hook path (the usage aggregates kept from
 * DynamoDB Local's streams as `npm start` keeps them), exported with `npm run cli -- export`, and
 * every saved query (`infra/analytics/queries/`) run by DuckDB over it, each answer checked against
 * the usage aggregates (`usageOfApp`, `usageOfStream`). Then the bad input: an export to a folder
 * that is not empty, a malformed query, an unknown saved query (exit code 2, nothing written).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AnalyticsEngine, Row } from '../../infra/analytics/duckdb.ts';
import { SAVED_QUERIES } from '../../infra/analytics/saved-queries.ts';
import { issueClientToken } from '../../shared/admission/tokens.ts';
import type { PublishUsage, UsagePeriod } from '../../shared/state/usage.ts';
import { cli } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { startSlowProxy } from '../support/slow-proxy.ts';
import { HS256_SECRET } from '../support/tokens.ts';

let server: RunningHookServer;
let usage: typeof import('../../shared/state/usage.ts');
let engine: AnalyticsEngine;
/** What the first export printed: its views and rows. */
let exported: { views: { view: string; rows: number }[] };
const work = mkdtempSync(join(tmpdir(), 'analytics-sql-'));
const exportDir = join(work, 'export');
const open = `sql-open-${randomUUID().slice(0, 8)}`;
const tokens = `sql-token-${randomUUID().slice(0, 8)}`;
const name = 'cam';
const spanning = `sql-days-${randomUUID().slice(0, 8)}`;
const today = new Date().toISOString().slice(0, 10);
/** The TABLE_PREFIX of this file's own tables, for the CLI. */
const prefix = () => String(process.env.SESSIONS_TABLE).replace(/-sessions$/, '');

/** Makes the data: an open app (a publish, players, a refusal, a failed play and session, data) and a token app. */
async function makeData(): Promise<void> {
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(open, { admission: 'open', maxPlayersPerStream: 2 });
  await putAppPolicy(tokens, { admission: 'token', hs256Secret: HS256_SECRET });
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: open });
  const [publisher, ...viewers] = Array.from({ length: 5 }, () => wcs.newSession());
  if (!publisher) throw new Error('no publisher');
  expect(await wcs.connectAll([publisher, ...viewers])).toEqual([200, 200, 200, 200, 200]);
  const publish = wcs.newStream(publisher, name, true);
  expect((await wcs.send('publishStream', wcs.streamBody(publish, 'PENDING'))).status).toBe(200);
  await wcs.goLive(publish);
  const plays = viewers.slice(0, 3).map((viewer) => wcs.newStream(viewer, name, false));
  const answers = [];
  for (const play of plays)
    answers.push((await wcs.send('playStream', wcs.streamBody(play, 'PENDING'))).status);
  expect(answers).toEqual([200, 200, 403]);
  const [first, second, refused] = plays;
  // What WCS sends after a 403: the refused play FAILED (the item is marked refused: no play, no failure).
  if (refused)
    await wcs.send('StreamStatusEvent', wcs.streamBody(refused, 'FAILED', { info: 'Failed by REST hook' }));
  if (!first || !second) throw new Error('no plays');
  await wcs.goLive(first);
  await wcs.goLive(second);
  await wcs.send('OnDataEvent', wcs.dataBody(publisher, { hello: 1 }));
  await wcs.send('OnDataEvent', wcs.dataBody(viewers[0] ?? publisher, { hello: 2 }));
  await wcs.end(first);
  await wcs.send('StreamStatusEvent', wcs.streamBody(second, 'FAILED', { info: 'Failed by ICE error' }));
  await wcs.end(publish);
  for (const session of [publisher, ...viewers.slice(0, 3)]) await wcs.disconnect(session);
  const failing = viewers[3];
  if (failing)
    await wcs.send('ConnectionStatusEvent', wcs.connectionStatusBody(failing, 'FAILED', 'Failed by timeout'));
  // viewers[4] stays open.

  const tokenWcs = new FakeWcs({ appUrl: server.appUrl, appKey: tokens });
  for (const user of ['alice', 'alice', 'bob']) {
    const token = await issueClientToken(HS256_SECRET, { sub: user, aud: tokens }, 300);
    const session = tokenWcs.newSession();
    expect(
      (await tokenWcs.send('connect', tokenWcs.connectBody(session, { custom: { token } }))).status,
    ).toBe(200);
    await tokenWcs.disconnect(session);
  }
}

/**
 * Items as the hooks leave them, written directly with times of their own, days ago: sessions and
 * plays across midnight and over days, one still open, a failed play, a message and a refusal.
 */
async function writeSpanningItems(): Promise<void> {
  const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
  const { dynamo, tableNameOf } = await import('../../shared/store/dynamo.ts');
  const put = (table: 'sessions' | 'streams' | 'dataMessages' | 'counters', item: Record<string, unknown>) =>
    dynamo.send(new PutCommand({ TableName: tableNameOf(table), Item: { appKey: spanning, ...item } }));
  const session = (id: string, from: string, to?: string, extra: Record<string, unknown> = {}) =>
    put('sessions', {
      sessionId: `${spanning}-${id}`,
      firstStatusAt: from,
      status: to ? 'DISCONNECTED' : 'ESTABLISHED',
      ...(to && { endedAt: to }),
      ...extra,
    });
  await session('a', '2026-01-10T23:50:00.000Z', '2026-01-11T00:20:30.000Z', { userId: 'u1' });
  await session('b', '2026-01-11T10:00:00.000Z', '2026-01-13T05:00:00.000Z');
  await session('c', '2026-01-12T12:00:00.000Z');
  const stream = (id: string, published: boolean, live: string, end?: [string, string, string?]) =>
    put('streams', {
      sessionId: `${spanning}-a`,
      mediaSessionId: `${spanning}-${id}`,
      name: 'night',
      published,
      firstStatusAt: new Date(Date.parse(live) - 30_000).toISOString(),
      statusHistory: [{ status: published ? 'PUBLISHING' : 'PLAYING', at: live }],
      status: end?.[1] ?? (published ? 'PUBLISHING' : 'PLAYING'),
      ...(end && { endedAt: end[0] }),
      ...(end?.[2] && { info: end[2] }),
    });
  await stream('p', true, '2026-01-10T23:41:00.000Z', ['2026-01-11T01:10:00.000Z', 'UNPUBLISHED']);
  await stream('q1', false, '2026-01-10T23:55:30.000Z', ['2026-01-11T00:30:00.000Z', 'STOPPED']);
  await stream('q2', false, '2026-01-11T00:05:00.000Z', [
    '2026-01-11T00:06:10.000Z',
    'FAILED',
    'Failed by ICE',
  ]);
  await stream('q3', false, '2026-01-11T00:40:00.000Z');
  await put('dataMessages', {
    sessionId: `${spanning}-a`,
    operationId: 'op-1',
    direction: 'IN',
    receivedAt: '2026-01-11T00:01:00.000Z',
  });
  await put('counters', {
    counter: `refusals#${spanning}#2026-01-11`,
    window: '2026-01-11T03:00:00.000Z#0123456789abcdef',
    method: 'playStream',
    reason: 'the stream has its players',
    refusedAt: '2026-01-11T03:00:00.000Z',
  });
}

beforeAll(async () => {
  await useOwnTables('analytics-sql');
  server = await startHookServer({}, { usage: true });
  usage = await import('../../shared/state/usage.ts');
  await makeData();
  await writeSpanningItems();
  // The aggregates caught up with every change.
  await eventually(
    () => Promise.all([usage.usageOfApp(open, today, today), usage.usageOfApp(tokens, today, today)]),
    ([[o], [t]]) =>
      o?.sessions === 6 &&
      o.refusals === 1 &&
      o.dataIn === 2 &&
      o.publishMinutes > 0 &&
      Object.keys(o.failuresByReason).length === 2 &&
      t?.uniqueUsers === 2,
  );
  await eventually(
    () => usage.usageOfApp(spanning, '2026-01-10', '2026-01-13'),
    (days) =>
      days.reduce((n, d) => n + d.sessions + d.plays + d.publishes + d.refusals + d.dataIn, 0) === 9 &&
      (days[1]?.viewerMinutes ?? 0) > 0,
  );
  await eventually(
    () => usage.usageOfStream(open, name, today, today),
    ([p]) => p?.end !== undefined && p.players === 2,
  );
  const first = await cli(['export', '--to', exportDir], { TABLE_PREFIX: prefix() });
  expect(first.stderr).toContain('export: sessions');
  expect(first.status).toBe(0);
  exported = first.json;
  const { AnalyticsEngine } = await import('../../infra/analytics/duckdb.ts');
  engine = await AnalyticsEngine.overExport(exportDir);
}, 120_000);
afterAll(async () => {
  engine?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const APPS = () => [open, tokens];
const ofApps = (rows: Row[], apps = APPS()) => rows.filter((row) => apps.includes(String(row.appKey)));
const query = (name: string) => engine.query(SAVED_QUERIES.find((q) => q.name === name)?.sql ?? '');
const run = async (name: string) => ofApps(await query(name));
const minutes = (a: unknown, b: number) => expect(Math.abs(Number(a) - b)).toBeLessThanOrEqual(0.011);
const checked = new Set<string>();
const reasons = (rows: Row[], key: (r: Row) => string, count: string) =>
  Object.fromEntries(rows.map((r) => [key(r), Number(r[count])]));

/** Which apps, days and stream names a comparison covers. */
interface Scope {
  readonly apps: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly names: readonly (readonly [app: string, name: string])[];
}

/** The aggregates of the scope's apps: by app, its days (or hours) with anything in them. */
async function aggregatesOf(scope: Scope, by: 'day' | 'hour'): Promise<Map<string, UsagePeriod[]>> {
  return new Map(
    await Promise.all(
      scope.apps.map(async (app) => [app, await usage.usageOfApp(app, scope.from, scope.to, by)] as const),
    ),
  );
}
const aggregates = (by: 'day' | 'hour') =>
  aggregatesOf({ apps: APPS(), from: today, to: today, names: [] }, by);
const counted = (p: UsagePeriod) =>
  p.sessions + p.publishes + p.plays + p.refusals + p.dataIn + p.dataOut > 0;

describe.each<[string, () => Scope]>([
  ['data made through the hooks', () => ({ apps: APPS(), from: today, to: today, names: [[open, name]] })],
  [
    'items that span midnight and days',
    () => ({ apps: [spanning], from: '2026-01-10', to: '2026-01-13', names: [[spanning, 'night']] }),
  ],
])('the usage queries over %s', (_case, scopeOf) => {
  it('app_daily_usage equals the usage of each app per day', async () => {
    checked.add('app_daily_usage');
    const scope = scopeOf();
    const rows = ofApps(await query('app_daily_usage'), [...scope.apps]);
    const days = await aggregatesOf(scope, 'day');
    const expected = [...days].flatMap(([app, periods]) => periods.filter(counted).map((d) => ({ app, d })));
    expect(rows.map((r) => `${r.appKey} ${r.day}`).sort()).toEqual(
      expected.map((e) => `${e.app} ${e.d.period}`).sort(),
    );
    for (const { app, d } of expected) {
      const row = rows.find((r) => r.appKey === app && r.day === d.period);
      expect(row).toMatchObject({
        sessions: d.sessions,
        uniqueUsers: d.uniqueUsers,
        anonymousSessions: d.anonymousSessions,
        publishes: d.publishes,
        plays: d.plays,
        refusals: d.refusals,
        dataIn: d.dataIn,
        dataOut: d.dataOut,
      });
      minutes(row?.publishMinutes, d.publishMinutes);
      minutes(row?.viewerMinutes, d.viewerMinutes);
    }
  });

  it('app_hourly_usage equals the usage of each app per hour', async () => {
    checked.add('app_hourly_usage');
    const scope = scopeOf();
    const rows = ofApps(await query('app_hourly_usage'), [...scope.apps]);
    const hours = await aggregatesOf(scope, 'hour');
    for (const app of scope.apps) {
      const expected = (hours.get(app) ?? []).filter(
        (h) => counted(h) || h.publishMinutes + h.viewerMinutes > 0,
      );
      const got = rows.filter((r) => r.appKey === app);
      expect(got.length).toBeGreaterThan(0);
      expect(got.map((r) => r.hour)).toEqual(expected.map((h) => h.period));
      for (const [i, row] of got.entries()) {
        const hour = expected[i];
        expect(row).toMatchObject({ sessions: hour?.sessions, plays: hour?.plays, refusals: hour?.refusals });
        expect(row).toMatchObject({ anonymousSessions: hour?.anonymousSessions, dataIn: hour?.dataIn });
        minutes(row.viewerMinutes, hour?.viewerMinutes ?? -1);
        minutes(row.publishMinutes, hour?.publishMinutes ?? -1);
      }
    }
  });

  it('app_peaks equals the peaks of sessions and players per day and hour, and when', async () => {
    checked.add('app_peaks');
    const scope = scopeOf();
    const rows = ofApps(await query('app_peaks'), [...scope.apps]);
    const minute = (at: unknown) => (at ? `${String(at).slice(0, 16)}Z` : undefined);
    const [days, hours] = [await aggregatesOf(scope, 'day'), await aggregatesOf(scope, 'hour')];
    for (const app of scope.apps) {
      const expected = [...(days.get(app) ?? []), ...(hours.get(app) ?? [])]
        .filter((p) => p.peakSessions > 0 || p.peakPlayers > 0)
        .map((p) => [p.period, p.peakSessions, p.peakSessionsAt, p.peakPlayers, p.peakPlayersAt])
        .sort();
      const got = rows
        .filter((r) => r.appKey === app)
        .map((r) => [
          r.period,
          r.peakSessions,
          minute(r.peakSessionsAt),
          r.peakPlayers,
          minute(r.peakPlayersAt),
        ])
        .sort();
      expect(got.length).toBeGreaterThan(1);
      expect(got).toEqual(expected);
    }
  });

  it('stream_usage equals the usage of each publish', async () => {
    checked.add('stream_usage');
    const scope = scopeOf();
    const rows = ofApps(await query('stream_usage'), [...scope.apps]);
    expect(rows).toHaveLength(scope.names.length);
    for (const [app, streamName] of scope.names) {
      const [publish] = await usage.usageOfStream(app, streamName, scope.from, scope.to);
      const row = rows.find((r) => r.appKey === app && r.name === streamName);
      expect(row).toMatchObject({
        mediaSessionId: publish?.mediaSessionId,
        startedAt: publish?.start,
        endedAt: publish?.end,
        live: publish?.live,
        failed: publish?.failed,
        players: publish?.players,
        peakPlayers: publish?.peakPlayers,
      });
      expect(`${String(row?.peakPlayersAt).slice(0, 16)}Z`).toBe(publish?.peakPlayersAt);
      minutes(row?.viewerMinutes, publish?.viewerMinutes ?? -1);
      minutes(row?.durationMinutes, publish?.durationMinutes ?? -1);
    }
  });
});

describe('the other saved queries over a local export', () => {
  it('average_stream_duration equals the mean duration of the publishes that went live and ended', async () => {
    checked.add('average_stream_duration');
    const rows = await run('average_stream_duration');
    const publishes: PublishUsage[] = (await usage.usageOfStream(open, name, today, today)).filter(
      (p) => p.live && p.durationMinutes !== undefined,
    );
    expect(rows).toMatchObject([{ appKey: open, day: today, publishes: publishes.length }]);
    const mean = publishes.reduce((n, p) => n + (p.durationMinutes ?? 0), 0) / publishes.length;
    minutes(rows[0]?.averageMinutes, mean);
  });

  it('stream_history lists every publish and play the aggregates count', async () => {
    checked.add('stream_history');
    const rows = await run('stream_history');
    const [day] = (await aggregates('day')).get(open) ?? [];
    expect(rows.filter((r) => r.kind === 'publish')).toHaveLength(day?.publishes ?? -1);
    expect(rows.filter((r) => r.kind === 'play' && !r.refused)).toHaveLength(day?.plays ?? -1);
    expect(rows.find((r) => r.status === 'FAILED' && !r.refused)).toMatchObject({
      kind: 'play',
      info: 'Failed by ICE error',
    });
    // The refused play is there, told apart, with the refusal's reason.
    expect(rows.filter((r) => r.refused)).toEqual([
      expect.objectContaining({ kind: 'play', status: 'FAILED' }),
    ]);
    expect(rows.find((r) => r.refused)?.refusal).toEqual(expect.any(String));
  });

  it("user_sessions lists each token user's sessions: as many users as the day's unique users", async () => {
    checked.add('user_sessions');
    const rows = await run('user_sessions');
    const [day] = (await aggregates('day')).get(tokens) ?? [];
    expect(new Set(rows.map((r) => r.userId)).size).toBe(day?.uniqueUsers);
    expect(rows).toHaveLength((day?.sessions ?? 0) - (day?.anonymousSessions ?? 0));
    expect(rows.map((r) => r.userId)).toEqual(['alice', 'alice', 'bob']);
  });

  it('refusals and refusals_by_reason equal the refusals by reason', async () => {
    checked.add('refusals').add('refusals_by_reason');
    const [day] = (await aggregates('day')).get(open) ?? [];
    expect(await run('refusals')).toHaveLength(day?.refusals ?? -1);
    const byReason = await run('refusals_by_reason');
    expect(reasons(byReason, (r) => `${r.method}: ${r.reason}`, 'refusals')).toEqual(day?.refusalsByReason);
  });

  it('failures_by_reason equals the failures by reason', async () => {
    checked.add('failures_by_reason');
    const rows = await run('failures_by_reason');
    const [day] = (await aggregates('day')).get(open) ?? [];
    expect(reasons(rows, (r) => `${r.kind}: ${r.info}`, 'failures')).toEqual(day?.failuresByReason);
  });

  it('data_messages_per_session sums to the data messages in and out', async () => {
    checked.add('data_messages_per_session');
    const rows = await run('data_messages_per_session');
    const [day] = (await aggregates('day')).get(open) ?? [];
    expect(rows).toHaveLength(2);
    expect(rows.reduce((n, r) => n + Number(r.dataIn), 0)).toBe(day?.dataIn);
    expect(rows.reduce((n, r) => n + Number(r.dataOut), 0)).toBe(day?.dataOut);
  });

  it('has checked every saved query', () => {
    expect([...checked].sort()).toEqual(SAVED_QUERIES.map((q) => q.name).sort());
  });
});

describe('npm run cli -- sql and export, and their bad input', () => {
  it('runs a saved query and a query of its own, as JSON and CSV', async () => {
    const saved = await cli(['sql', '--saved', 'refusals', '--from', exportDir]);
    expect(saved.status).toBe(0);
    expect(ofApps(saved.json)).toHaveLength(1);
    const csv = await cli([
      'sql',
      'SELECT count(*) AS n FROM sessions',
      '--from',
      exportDir,
      '--format',
      'csv',
    ]);
    expect(csv.stdout).toMatch(/^n\r\n\d+\r\n$/);
  });

  it('exports through a DynamoDB slower than a hook may wait (each request past 2 s), as a batch job', async () => {
    // Each request and answer held 1.2 s each way: every Scan page takes ~2.4 s, more than the
    // 2 s a hook's request may (DYNAMODB_REQUEST_TIMEOUT_MS). The export waits, and finds every row.
    const proxy = await startSlowProxy(String(process.env.DYNAMODB_ENDPOINT));
    try {
      proxy.delayMs = 1200;
      const slow = join(work, 'slow');
      const result = await cli(['export', '--to', slow], {
        TABLE_PREFIX: prefix(),
        DYNAMODB_ENDPOINT: proxy.endpoint,
        // As an analyst's shell has it: unset (the tests' own setting is longer than a hook's 2 s).
        DYNAMODB_REQUEST_TIMEOUT_MS: '',
      });
      expect(result.stderr).not.toContain('TimeoutError');
      expect(result.status).toBe(0);
      const rows = (json: { views: { view: string; rows: number }[] }) =>
        Object.fromEntries(json.views.map((v) => [v.view, v.rows]));
      expect(rows(result.json)).toEqual(rows(exported));
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('refuses an export to a folder that is not empty, writing nothing (exit code 2)', async () => {
    const taken = join(work, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'keep.txt'), 'mine');
    const result = await cli(['export', '--to', taken], { TABLE_PREFIX: prefix() });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('is not empty');
    expect(readdirSync(taken)).toEqual(['keep.txt']);
    expect(readdirSync(work).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('refuses a malformed query and an unknown saved query (exit code 2)', async () => {
    const malformed = await cli(['sql', 'SELEC nothing FROM', '--from', exportDir]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain('the query failed');
    const unknown = await cli(['sql', '--saved', 'no_such_query', '--from', exportDir]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no saved query "no_such_query"');
    const noExport = await cli(['sql', '--saved', 'refusals', '--from', join(work, 'nothing-here')]);
    expect(noExport.status).toBe(2);
    expect(noExport.stderr).toContain('holds no export');
  });
});
