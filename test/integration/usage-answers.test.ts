/**
 * The usage questions asked three ways (issue 27, item 3): `npm run cli -- usage` as an analyst runs
 * it, the `usage/app` and `usage/stream` realms over REST and over STOMP. Usage made through real
 * hooks (FakeWcs) and kept by the usage consumer tailing DynamoDB Local's streams of this file's own
 * tables; every way gives the same rows, REST and STOMP a page at a time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cli } from '../support/cli.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { realmClients } from '../support/realm-client.ts';

const TOKEN = 'usage-answers-token';
let server: RunningHookServer;
let prefix: string;
const { restRealm, rawClient, closeAll } = realmClients(() => server, TOKEN);
const app = `usage-ask-${randomUUID().slice(0, 6)}`;
const today = new Date().toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

/** Every page of a usage realm over REST, `limit` rows at a time. */
async function allPages(realm: string, payload: Record<string, unknown>, limit: number) {
  const rows: unknown[] = [];
  for (let offset = 0; ; offset += limit) {
    const answer = await restRealm(realm, { ...payload, limit, offset });
    expect([answer.http, answer.status, answer.reason]).toEqual([200, 200, 'SUCCESS']);
    rows.push(...(answer.payload as unknown[]));
    if (!answer.more) return { rows, total: answer.total };
  }
}

/** `npm run cli -- usage ...` against this file's tables. */
const usageCli = (...args: string[]) => cli(['usage', '--app', app, ...args], { TABLE_PREFIX: prefix });

beforeAll(async () => {
  prefix = await useOwnTables('usage-answers');
  server = await startHookServer({ API_TOKEN: TOKEN }, { usage: true, realtime: true });
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(app, { admission: 'open' });

  // A publisher of cam with two players, a publisher of cam2 with one, data; then everything ends.
  const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: app });
  const sessions = Array.from({ length: 5 }, () => wcs.newSession());
  for (const session of sessions)
    expect((await wcs.send('connect', wcs.connectBody(session))).status).toBe(200);
  const [a, b, c, d, e] = sessions as [
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
  ];
  const streams = [
    wcs.newStream(a, 'cam', true),
    wcs.newStream(b, 'cam2', true),
    wcs.newStream(c, 'cam', false),
    wcs.newStream(d, 'cam', false),
    wcs.newStream(e, 'cam2', false),
  ];
  for (const stream of streams) {
    const hook = stream.published ? 'publishStream' : 'playStream';
    expect((await wcs.send(hook, wcs.streamBody(stream, 'PENDING'))).status).toBe(200);
    await wcs.goLive(stream);
  }
  expect((await wcs.send('OnDataEvent', wcs.dataBody(a, { hello: 1 }))).status).toBe(200);
  for (const stream of [...streams].reverse()) await wcs.end(stream);
  for (const session of sessions) await wcs.disconnect(session);

  // Every change applied: the consumer tails the streams.
  const until = Date.now() + 40_000;
  for (;;) {
    const byStream = await restRealm('usage/stream', { app, name: 'cam' });
    const names = await restRealm('usage/app', { app, by: 'stream' });
    const [day] = ((await restRealm('usage/app', { app })).payload ?? []) as Record<string, number>[];
    const [publish] = (byStream.payload ?? []) as Record<string, unknown>[];
    const [top] = (names.payload ?? []) as Record<string, number>[];
    const done =
      day?.sessions === 5 &&
      day.dataIn === 1 &&
      day.plays === 3 &&
      publish?.end !== undefined &&
      publish.players === 2 &&
      top?.plays === 2 &&
      (names.payload as unknown[]).length === 2;
    if (done) break;
    if (Date.now() > until)
      throw new Error(`usage not kept in time: ${JSON.stringify({ day, publish, names })}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, 60_000);
afterAll(async () => {
  closeAll();
  await server?.close();
});

describe('usage asked of the CLI, the REST realms and the STOMP realms', () => {
  it('answers an app by day the same three ways, REST and STOMP a page of days at a time', async () => {
    // Act
    const printed = await usageCli('--from', yesterday, '--to', today, '--format', 'json');
    const rest = await allPages('usage/app', { app, from: yesterday, to: today }, 1);
    const raw = await rawClient();
    const first = await raw.request('/api/usage/app', { app, from: yesterday, to: today, limit: '1' });
    const second = await raw.request('/api/usage/app', {
      app,
      from: yesterday,
      to: today,
      limit: '1',
      offset: '1',
    });

    // Assert
    expect([printed.status, printed.stderr]).toEqual([0, '']);
    const { rows } = printed.json as { rows: Record<string, unknown>[] };
    expect(rows.map((r) => r.period)).toEqual([yesterday, today]);
    expect(rows[1]).toMatchObject({
      sessions: 5,
      anonymousSessions: 5,
      publishes: 2,
      plays: 3,
      dataIn: 1,
      refusals: 0,
      peakSessions: 5,
      peakPlayers: 3,
    });
    expect(rest).toEqual({ rows, total: 2 });
    expect(first).toMatchObject({ status: 200, total: 2, more: true, payload: [rows[0]] });
    expect(second).toMatchObject({ status: 200, total: 2, more: false, payload: [rows[1]] });
  });

  it('answers by hour, by stream and the publishes of a stream the same three ways', async () => {
    for (const [args, realm, payload] of [
      [['--by', 'hour'], 'usage/app', { app, by: 'hour' }],
      [['--by', 'stream'], 'usage/app', { app, by: 'stream' }],
      [['--stream', 'cam'], 'usage/stream', { app, name: 'cam' }],
    ] as const) {
      const printed = await usageCli(...args, '--format', 'json');
      const rest = await allPages(realm, payload, 1);
      const stomp = await (await rawClient()).request(`/api/${realm}`, payload);
      const { rows } = printed.json as { rows: unknown[] };
      expect([args, printed.status, rows.length > 0]).toEqual([args, 0, true]);
      expect([args, rest.rows]).toEqual([args, rows]);
      expect([args, stomp.payload]).toEqual([args, rows]);
    }
    const { json } = await usageCli('--by', 'stream', '--format', 'json');
    expect((json as { rows: unknown[] }).rows).toEqual([
      expect.objectContaining({ name: 'cam', publishes: 1, plays: 2 }),
      expect.objectContaining({ name: 'cam2', publishes: 1, plays: 1 }),
    ]);
    const publishes = (await usageCli('--stream', 'cam', '--format', 'json')).json as {
      rows: Record<string, unknown>[];
    };
    expect(publishes.rows).toEqual([
      expect.objectContaining({ live: true, failed: false, players: 2, peakPlayers: 2 }),
    ]);
  });

  it('leaves out the hours still to come, where an open session would count as present', async () => {
    // Arrange: a session of another app, left open.
    const other = `usage-open-${randomUUID().slice(0, 6)}`;
    const wcs = new FakeWcs({ appUrl: server.appUrl, appKey: other });
    expect((await wcs.send('connect', wcs.connectBody(wcs.newSession()))).status).toBe(200);
    const until = Date.now() + 40_000;
    let hours: Record<string, unknown>[] = [];
    while (hours.length === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 300));
      hours = ((await restRealm('usage/app', { app: other, by: 'hour' })).payload ?? []) as typeof hours;
    }

    // Assert
    const thisHour = new Date().toISOString().slice(0, 13);
    expect(hours.at(-1)).toMatchObject({ period: thisHour, sessions: 1, peakSessions: 1 });
    expect(hours.filter((h) => String(h.period) > thisHour)).toEqual([]);
  });

  it('prints a table by default and CSV on asking, with the same numbers', async () => {
    const table = await usageCli();
    const csv = await usageCli('--format', 'csv');
    expect(table.status).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`usage of ${app}, ${today} to ${today} (UTC), by day`);
    expect(lines[1]?.split(/\s+/).slice(0, 4)).toEqual([
      'period',
      'sessions',
      'anonymousSessions',
      'uniqueUsers',
    ]);
    expect(lines[2]?.split(/\s+/).slice(0, 6)).toEqual([today, '5', '5', '0', '2', '3']);
    const [header, row] = csv.stdout.trimEnd().split('\n');
    expect(header?.split(',').slice(0, 3)).toEqual(['period', 'sessions', 'anonymousSessions']);
    expect(row?.split(',').slice(0, 3)).toEqual([today, '5', '5']);
  });
});
