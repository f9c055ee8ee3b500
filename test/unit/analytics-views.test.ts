/**
 * The analytics views in Athena (`infra/analytics/views.ts`): each column read out of the DynamoDB
 * JSON of the export with its type, times as UTC timestamps, the refusals only of the counters table,
 * and a stream's `liveAt` from its history, as the local export computes them; and CSV as RFC 4180.
 */
import { describe, expect, it } from '@jest/globals';
import { toCsv } from '../../infra/analytics/csv.ts';
import { athenaViewSql, rawItemType, rawTableOf, VIEWS } from '../../infra/analytics/views.ts';

const view = (name: string) => {
  const found = VIEWS.find((v) => v.name === name);
  if (!found) throw new Error(`no view ${name}`);
  return found;
};

describe('the Athena views over the exports', () => {
  it('reads each column out of the typed value of its attribute', () => {
    const sql = athenaViewSql(view('sessions'));
    expect(sql).toContain('item."sessionid"."s" AS "sessionid"');
    expect(sql).toContain('CAST(item."generation"."n" AS bigint) AS "generation"');
    expect(sql).toContain('item."connectseen"."bool" AS "connectseen"');
    expect(sql).toContain('CAST(from_iso8601_timestamp(item."endedat"."s") AS timestamp(3)) AS "endedat"');
    expect(sql).toMatch(/FROM "sessions_export"$/);
  });

  it('keeps only the refusal records of the counters table', () => {
    expect(athenaViewSql(view('refusals'))).toMatch(
      /FROM "counters_export" WHERE starts_with\(item\."counter"\."s", 'refusals#'\)$/,
    );
    expect(rawItemType(view('refusals'))).toContain('counter:struct<S:string>');
  });

  it("derives a stream's liveAt from the first PUBLISHING or PLAYING of its history", () => {
    expect(athenaViewSql(view('streams'))).toContain(
      `filter(item."statushistory"."l", (e) -> e."m"."status"."s" IN ('PUBLISHING', 'PLAYING'))`,
    );
    expect(rawItemType(view('streams'))).toContain(
      'statusHistory:struct<L:array<struct<M:struct<status:struct<S:string>,at:struct<S:string>>>>>',
    );
  });

  it('gives each view a raw table of its own table', () => {
    expect(VIEWS.map(rawTableOf)).toEqual([
      'sessions_export',
      'streams_export',
      'datamessages_export',
      'counters_export',
    ]);
  });
});

describe('toCsv', () => {
  it('writes a header and quotes only the fields that need it', () => {
    expect(
      toCsv([
        { a: 'x', b: 'say "hi", then go' },
        { a: null, b: 2 },
      ]),
    ).toBe('a,b\r\nx,"say ""hi"", then go"\r\n,2\r\n');
  });

  it('writes nothing for no rows', () => {
    expect(toCsv([])).toBe('');
  });
});
