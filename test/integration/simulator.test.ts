/**
 * The traffic simulator (`npm run cli -- simulate`, `infra/simulate/simulator.ts`) against the
 * local runtime with `SIMULATED_CLOCK=allow` and the usage tailer, on tables of its own: the usage
 * per app and simulated day (`usageOfApp`) equals what the simulator says it sent, lost end hooks
 * included once the keep-alive sweep has ended the streams that had keep-alives, and SQL over the
 * export of those days (`app_daily_usage`) answers the same. And without the
 * setting, the simulated-time header changes nothing: a hook is stamped on arrival.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SIMULATED_TIME_HEADER } from '../../infra/local/simulated-clock.ts';
import type { AppDaySent, SimulationSummary } from '../../infra/simulate/simulator.ts';
import { connectBody, sendHook } from '../../infra/simulate/wcs-hooks.ts';
import type { UsagePeriod } from '../../shared/state/usage.ts';
import { cli } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';

let server: RunningHookServer;
let prefix: string;

beforeAll(async () => {
  // The usage tailer reads every table of its prefix: only this file's.
  prefix = await useOwnTables('simulator');
  // Budgets no loaded machine misses: every hook is decided or written, none answered by its fail
  // mode or spilled (the simulator counts those apart, and this runtime replays no spill).
  const budget = '30000';
  server = await startHookServer(
    {
      SIMULATED_CLOCK: 'allow',
      DECISION_BUDGET_MS: budget,
      EVENT_BUDGET_MS: budget,
      REFUSAL_COUNT_BUDGET_MS: budget,
    },
    { usage: true },
  );
}, 60_000);
afterAll(() => server.close());

/** What `usageOfApp` says of a day, in the simulator's terms. */
function asSent(period: UsagePeriod | undefined) {
  const byMethod: Record<string, number> = {};
  for (const [reason, n] of Object.entries(period?.refusalsByReason ?? {})) {
    const method = reason.slice(0, reason.indexOf(':'));
    byMethod[method] = (byMethod[method] ?? 0) + n;
  }
  return {
    sessions: period?.sessions ?? 0,
    anonymousSessions: period?.anonymousSessions ?? 0,
    uniqueUsers: period?.uniqueUsers ?? 0,
    publishes: period?.publishes ?? 0,
    plays: period?.plays ?? 0,
    publishMinutes: period?.publishMinutes ?? 0,
    viewerMinutes: period?.viewerMinutes ?? 0,
    refusals: period?.refusals ?? 0,
    refusalsByMethod: byMethod,
    dataIn: period?.dataIn ?? 0,
  };
}

function expected(sent: AppDaySent) {
  const {
    lostStreamEnds: _l,
    lostSessionEnds: _s,
    endedByKeepAliveSweep: _k,
    refusedByFailMode: _f,
    ...usage
  } = sent;
  return usage;
}

describe('the traffic simulator', () => {
  it('makes, over two simulated days, the usage per app and day that its summary says it sent', async () => {
    // Arrange
    const { simulate, simulatedApps } = await import('../../infra/simulate/simulator.ts');
    const { putAppPolicy } = await import('../../shared/state/apps.ts');
    const { usageOfApp } = await import('../../shared/state/usage.ts');
    const { pollNow } = await import('../../shared/monitoring/poller.ts');
    for (const app of Object.values(simulatedApps('sim', 7))) await putAppPolicy(app.appKey, app.policy);

    // Act
    const summary: SimulationSummary = await simulate({
      appUrl: server.appUrl,
      from: '2026-11-02',
      days: 2,
      streams: 4,
      viewers: 16,
      seed: 7,
      concurrency: 8,
    });
    // The keep-alive sweep ends the lost streams that had keep-alives (the simulator's last hooks,
    // sent at the real time, tell the poller the nodes still send hooks).
    await pollNow();

    // Assert: something of every kind was sent, and the usage of each app and day is what was sent.
    expect(summary.unexpectedAnswers).toBe(0);
    expect(Object.values(summary.totals).map((t) => t.refusedByFailMode)).toEqual([0, 0, 0]);
    const totals = Object.values(summary.totals);
    const sum = (field: keyof AppDaySent) => totals.reduce((n, t) => n + Number(t[field]), 0);
    expect(sum('refusals')).toBeGreaterThan(0);
    expect(sum('dataIn')).toBeGreaterThan(0);
    expect(sum('lostStreamEnds')).toBeGreaterThan(0);
    expect(sum('endedByKeepAliveSweep')).toBeGreaterThan(0);
    const methods = new Set(totals.flatMap((t) => Object.keys(t.refusalsByMethod)));
    expect([...methods]).toEqual(expect.arrayContaining(['publishStream', 'playStream']));
    const wanted = Object.entries(summary.byDay).flatMap(([day, apps]) =>
      Object.entries(apps).map(([appKey, sent]) => ({ day, appKey, usage: expected(sent) })),
    );
    const readAll = () =>
      Promise.all(
        wanted.map(async ({ day, appKey }) => ({
          day,
          appKey,
          usage: asSent((await usageOfApp(appKey, day, day))[0]),
        })),
      );
    const got = await eventually(readAll, (all) => JSON.stringify(all) === JSON.stringify(wanted));
    expect(got).toEqual(wanted);

    // And SQL over the export of these days answers the same (the analyst's third way to ask).
    const work = mkdtempSync(join(tmpdir(), 'simulator-sql-'));
    try {
      const exportDir = join(work, 'export');
      expect((await cli(['export', '--to', exportDir], { TABLE_PREFIX: prefix })).status).toBe(0);
      const answer = await cli(['sql', '--saved', 'app_daily_usage', '--from', exportDir]);
      expect(answer.status).toBe(0);
      const rows = JSON.parse(answer.stdout) as Record<string, unknown>[];
      const bySql = wanted.map(({ day, appKey }) => {
        const row = rows.find((r) => r.appKey === appKey && r.day === day);
        return {
          day,
          appKey,
          sessions: Number(row?.sessions ?? 0),
          anonymousSessions: Number(row?.anonymousSessions ?? 0),
          uniqueUsers: Number(row?.uniqueUsers ?? 0),
          publishes: Number(row?.publishes ?? 0),
          plays: Number(row?.plays ?? 0),
          refusals: Number(row?.refusals ?? 0),
          dataIn: Number(row?.dataIn ?? 0),
          publishMinutes: Number(row?.publishMinutes ?? 0),
          viewerMinutes: Number(row?.viewerMinutes ?? 0),
        };
      });
      // Minutes are rounded to the hundredth apart in each.
      const close = (sql: number, kept: number) => (Math.abs(sql - kept) <= 0.011 ? kept : sql);
      expect(
        bySql.map((row, i) => ({
          ...row,
          publishMinutes: close(row.publishMinutes, got[i]?.usage.publishMinutes ?? Number.NaN),
          viewerMinutes: close(row.viewerMinutes, got[i]?.usage.viewerMinutes ?? Number.NaN),
        })),
      ).toEqual(
        got.map(({ day, appKey, usage }) => ({
          day,
          appKey,
          sessions: usage.sessions,
          anonymousSessions: usage.anonymousSessions,
          uniqueUsers: usage.uniqueUsers,
          publishes: usage.publishes,
          plays: usage.plays,
          refusals: usage.refusals,
          dataIn: usage.dataIn,
          publishMinutes: usage.publishMinutes,
          viewerMinutes: usage.viewerMinutes,
        })),
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('the simulated clock', () => {
  it('refuses, where allowed, a simulated time that is no ISO 8601 time (400), rather than stamp the hook now', async () => {
    // Arrange
    const session = {
      nodeId: `${'B'.repeat(32)}@203.0.113.9`,
      appKey: 'sim-clock',
      sessionId: crypto.randomUUID(),
    };

    // Act
    const reply = await sendHook(server.appUrl, 'connect', JSON.stringify(connectBody(session)), {
      headers: { [SIMULATED_TIME_HEADER]: 'yesterday' },
    });

    // Assert
    expect(reply.status).toBe(400);
    expect(reply.text).toContain(SIMULATED_TIME_HEADER);
  });

  it('changes nothing without SIMULATED_CLOCK=allow: a hook is stamped on arrival', async () => {
    // Arrange: a runtime that was not told to allow it.
    const plain = await startHookServer({ SIMULATED_CLOCK: 'deny' }, {});
    const { sessionRecord } = await import('../../shared/state/sessions.ts');
    const session = {
      nodeId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@203.0.113.9',
      appKey: 'sim-clock',
      sessionId: crypto.randomUUID(),
    };
    const before = Date.now();
    try {
      // Act
      const reply = await sendHook(plain.appUrl, 'connect', JSON.stringify(connectBody(session)), {
        headers: { [SIMULATED_TIME_HEADER]: '2026-01-01T10:00:00.000Z' },
      });

      // Assert
      expect(reply.status).toBe(200);
      expect(reply.headers.get(SIMULATED_TIME_HEADER)).toBeNull();
      const item = await sessionRecord(session.sessionId);
      expect(Date.parse(String(item?.connectedAt))).toBeGreaterThanOrEqual(before);
    } finally {
      await plain.close();
    }
  });
});
