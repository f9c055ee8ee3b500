/**
 * Usage questions that cannot be answered (issue 27, item 8, the usage side): a range backwards or
 * over a year (over a month by hour), a day that is not `YYYY-MM-DD`, an unknown app, an unknown
 * `--by` or `--format`. The CLI says why in one line and exits 2; the realms answer 400 with the same
 * reason, over REST and STOMP; nothing is written.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TableName } from '../../shared/kernel/registry.ts';
import { dynamo, tableNameOf } from '../../shared/store/dynamo.ts';
import { TABLES } from '../../shared/store/tables.ts';
import { cli } from '../support/cli.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { useOwnTables } from '../support/own-tables.ts';
import { realmClients } from '../support/realm-client.ts';

const TOKEN = 'usage-bad-input-token';
let server: RunningHookServer;
let prefix: string;
const { restRealm, rawClient, closeAll } = realmClients(() => server, TOKEN);
/** An app with a policy, so that only the question is wrong. */
const app = `usage-bad-${randomUUID().slice(0, 6)}`;

/** How many items each table holds (not the realtime API's own connections, which a STOMP client makes). */
async function itemCounts(): Promise<Record<string, number>> {
  const names = (Object.keys(TABLES) as TableName[]).filter((t) => t !== 'connections');
  const counts = await Promise.all(
    names.map(
      async (t) =>
        (await dynamo.send(new ScanCommand({ TableName: tableNameOf(t), Select: 'COUNT' }))).Count ?? 0,
    ),
  );
  return Object.fromEntries(names.map((t, i) => [t, counts[i] ?? 0]));
}

beforeAll(async () => {
  prefix = await useOwnTables('usage-bad-input');
  server = await startHookServer({ API_TOKEN: TOKEN }, { realtime: true });
  const { putAppPolicy } = await import('../../shared/state/apps.ts');
  await putAppPolicy(app, { admission: 'open' });
}, 60_000);
afterAll(async () => {
  closeAll();
  await server?.close();
});

/** A question: its fields as CLI flags (`--from 2026-11-01`), and as the realm's payload. */
type Ask = { app: string; from?: string; to?: string; by?: string; stream?: string };
const flagsOf = (ask: Ask) => Object.entries(ask).flatMap(([flag, value]) => [`--${flag}`, value]);
const realmOf = ({ stream, ...rest }: Ask): [string, Record<string, string>] =>
  stream === undefined ? ['usage/app', rest] : ['usage/stream', { ...rest, name: stream }];

const OVER_A_YEAR = 'from 2025-01-01 to 2026-11-30 is 699 days; by day at most 366 (a year)';
const OVER_A_MONTH =
  'from 2026-10-01 to 2026-11-30 is 61 days; by hour at most 31 (a month: ask by day for longer)';
const UNKNOWN_APP =
  'no app no-such-app: it has no policy, no open session and no usage from 2026-11-01 to 2026-11-30 (apps list lists the apps with a policy)';
const NOT_A_DAY = (field: string, value: string) =>
  `${field} must be a UTC day as YYYY-MM-DD (2026-11-01), got "${value}"`;

/** Each question, and the reason the answer gives. */
const QUESTIONS: { what: string; ask: Ask; reason: unknown }[] = [
  {
    what: 'a range backwards',
    ask: { app, from: '2026-11-30', to: '2026-11-01' },
    reason: 'the range is backwards: from 2026-11-30 is after to 2026-11-01',
  },
  { what: 'a range over a year', ask: { app, from: '2025-01-01', to: '2026-11-30' }, reason: OVER_A_YEAR },
  {
    what: 'a range over a month by hour',
    ask: { app, from: '2026-10-01', to: '2026-11-30', by: 'hour' },
    reason: OVER_A_MONTH,
  },
  {
    what: 'a day that does not exist',
    ask: { app, from: '2026-02-30' },
    reason: NOT_A_DAY('from', '2026-02-30'),
  },
  {
    what: "a stream's date that is not YYYY-MM-DD",
    ask: { app, stream: 'cam', to: '30/11/2026' },
    reason: NOT_A_DAY('to', '30/11/2026'),
  },
  {
    what: 'an unknown --by',
    ask: { app, by: 'week' },
    reason: 'by must be day, hour, stream or publish (with a stream), got "week"',
  },
  {
    what: 'an unknown app',
    ask: { app: 'no-such-app', from: '2026-11-01', to: '2026-11-30' },
    reason: UNKNOWN_APP,
  },
  {
    what: "an unknown app's stream",
    ask: { app: 'no-such-app', stream: 'cam' },
    reason: expect.stringMatching(/^no app no-such-app: it has no policy/),
  },
];

describe('a usage question that cannot be answered', () => {
  it.each(QUESTIONS)(
    '($what) is exit code 2 from the CLI and 400 from the REST and STOMP realms, saying why',
    async (q) => {
      // Arrange
      const before = await itemCounts();
      const raw = await rawClient();

      // Act
      const [printed, rest, stomp] = await Promise.all([
        cli(['usage', ...flagsOf(q.ask)], { TABLE_PREFIX: prefix }),
        restRealm(...realmOf(q.ask)),
        raw.request(`/api/${realmOf(q.ask)[0]}`, realmOf(q.ask)[1]),
      ]);

      // Assert
      expect({ status: printed.status, stdout: printed.stdout }).toEqual({ status: 2, stdout: '' });
      expect(printed.stderr).toEqual(expect.stringMatching(/^npm run cli: usage: .+\n$/));
      expect(printed.stderr.split('\n')).toHaveLength(2);
      expect(rest).toEqual({ http: 400, status: 400, reason: q.reason });
      expect(stomp).toMatchObject({ status: 400, reason: q.reason });
      if (typeof q.reason === 'string') expect(printed.stderr).toContain(q.reason);
      expect(await itemCounts()).toEqual(before);
    },
    30_000,
  );

  it('is exit code 2 for an unknown --format, a missing --app, and --by with --stream', async () => {
    const answers = await Promise.all([
      cli(['usage', '--app', app, '--format', 'xml'], { TABLE_PREFIX: prefix }),
      cli(['usage', '--from', '2026-11-01'], { TABLE_PREFIX: prefix }),
      cli(['usage', '--app', app, '--stream', 'cam', '--by', 'day'], { TABLE_PREFIX: prefix }),
    ]);
    expect(answers.map((a) => [a.status, a.stderr.trim()])).toEqual([
      [2, expect.stringContaining('--format must be table, csv or json, got "xml"')],
      [2, expect.stringContaining('usage: an app is needed')],
      [2, expect.stringContaining("a stream's usage is each of its publishes (by publish), not by day")],
    ]);
  });

  it('is a 400 from usage/stream without a stream name', async () => {
    expect(await restRealm('usage/stream', { app })).toEqual({
      http: 400,
      status: 400,
      reason: 'name is needed: the stream name whose publishes to answer',
    });
  });
});
