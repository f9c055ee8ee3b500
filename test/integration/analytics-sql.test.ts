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
import { HS256_SECRET } from '../support/tokens.ts';

let server: RunningHookServer;
let usage: typeof import('../../shared/state/usage.ts');
let engine: AnalyticsEngine;
const work = mkdtempSync(join(tmpdir(), 'analytics-sql-'));
const exportDir = join(work, 'export');
const open = `sql-open-${randomUUID().slice(0, 8)}`;
const tokens = `sql-token-${randomUUID().slice(0, 8)}`;
const name = 'cam';
let publishId = '';
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
  publishId = publish.mediaSessionId;
  expect((await wcs.send('publishStream', wcs.streamBody(publish, 'PENDING'))).status).toBe(200);
  await wcs.goLive(publish);
  const plays = viewers.slice(0, 3).map((viewer) => wcs.newStream(viewer, name, false));
  const answers = [];
  for (const play of plays)
    answers.push((await wcs.send('playStream', wcs.streamBody(play, 'PENDING'))).status);
  expect(answers).toEqual([200, 200, 403]);
  const [first, second] = plays;
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

beforeAll(async () => {
  await useOwnTables('analytics-sql');
  server = await startHookServer({}, { usage: true });
  usage = await import('../../shared/state/usage.ts');
  await makeData();
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
    () => usage.usageOfStream(open, name, today, today),
    ([p]) => p?.end !== undefined && p.players === 2,
  );
  const exported = await cli(['export', '--to', exportDir], { TABLE_PREFIX: prefix() });
  expect(exported.stderr).toContain('export: sessions');
  expect(exported.status).toBe(0);
  const { AnalyticsEngine } = await import('../../infra/analytics/duckdb.ts');
  engine = await AnalyticsEngine.overExport(exportDir);
}, 120_000);
afterAll(async () => {
  engine?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const APPS = () => [open, tokens];
const ofApps = (rows: Row[]) => rows.filter((row) => APPS().includes(String(row.appkey ?? row.appKey)));
const run = async (query: string) =>
  ofApps(await engine.query(SAVED_QUERIES.find((q) => q.name === query)?.sql ?? ''));
const minutes = (a: unknown, b: number) => expect(Math.abs(Number(a) - b)).toBeLessThanOrEqual(0.011);
const checked = new Set<string>();
const reasons = (rows: Row[], key: (r: Row) => string, count: string) =>
  Object.fromEntries(rows.map((r) => [key(r), Number(r[count])]));

/** The aggregates of both apps: by app, day (and hours). */
async function aggregates(by: 'day' | 'hour'): Promise<Map<string, UsagePeriod[]>> {
  return new Map(
    await Promise.all(
      APPS().map(async (app) => [app, await usage.usageOfApp(app, today, today, by)] as const),
    ),
  );
}

describe('the saved queries over a local export', () => {
  it('app_daily_usage equals the usage of each app per day', async () => {
    checked.add('app_daily_usage');
    const rows = await run('app_daily_usage');
    const days = await aggregates('day');
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const [day] = days.get(String(row.appKey)) ?? [];
      expect(row.day).toBe(today);
      expect(row).toMatchObject({
        sessions: day?.sessions,
        uniqueUsers: day?.uniqueUsers,
        anonymousSessions: day?.anonymousSessions,
        publishes: day?.publishes,
        plays: day?.plays,
        refusals: day?.refusals,
        dataIn: day?.dataIn,
        dataOut: day?.dataOut,
      });
      minutes(row.publishMinutes, day?.publishMinutes ?? -1);
      minutes(row.viewerMinutes, day?.viewerMinutes ?? -1);
    }
  });

  it('app_hourly_usage equals the usage of each app per hour', async () => {
    checked.add('app_hourly_usage');
    const rows = await run('app_hourly_usage');
    const hours = await aggregates('hour');
    for (const app of APPS()) {
      const expected = (hours.get(app) ?? []).filter(
        (h) => h.sessions + h.publishes + h.plays + h.refusals > 0,
      );
      const got = rows.filter((r) => r.appKey === app);
      expect(got.length).toBeGreaterThan(0);
      expect(got.map((r) => r.hour)).toEqual(expected.map((h) => h.period));
      for (const [i, row] of got.entries()) {
        const hour = expected[i];
        expect(row).toMatchObject({ sessions: hour?.sessions, plays: hour?.plays, refusals: hour?.refusals });
        expect(row).toMatchObject({ anonymousSessions: hour?.anonymousSessions, dataIn: hour?.dataIn });
        minutes(row.viewerMinutes, hour?.viewerMinutes ?? -1);
      }
    }
  });

  it('app_peaks equals the peaks of sessions and players per day and hour, and when', async () => {
    checked.add('app_peaks');
    const rows = await run('app_peaks');
    const minute = (at: unknown) => (at ? `${String(at).slice(0, 16)}Z` : undefined);
    for (const app of APPS()) {
      const periods = [
        ...((await aggregates('day')).get(app) ?? []),
        ...((await aggregates('hour')).get(app) ?? []),
      ];
      const expected = periods
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
    const rows = await run('stream_usage');
    const [publish] = await usage.usageOfStream(open, name, today, today);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      name,
      mediaSessionId: publishId,
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
  });

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
    expect(rows.filter((r) => r.kind === 'play')).toHaveLength(day?.plays ?? -1);
    expect(rows.find((r) => r.status === 'FAILED')).toMatchObject({
      kind: 'play',
      info: 'Failed by ICE error',
    });
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
