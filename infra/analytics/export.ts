/**
 * `npm run cli -- export --to DIR`: the tables' items, as the analytics views (`views.ts`) see them,
 * written as Parquet: `DIR/<view>/part-0.parquet`, one folder per view as the Athena views are one
 * per export (docs/analytics.md). Read with a paged Scan (the one place that reads whole tables:
 * an export is a copy of everything), written by DuckDB. All or nothing: the files are written to a
 * sibling folder that becomes `DIR` only once every view is written; `DIR` must not exist, or be
 * empty.
 */

import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { paginateScan, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { liveAtOf } from '#shared/state/usage-model.ts';
import { dynamo, tableNameOf } from '#shared/store/dynamo.ts';
import { AnalyticsEngine, QueryError } from './duckdb.ts';
import { type AnalyticsView, VIEWS, type ViewColumn } from './views.ts';

/** Items between two progress lines. */
const PROGRESS_EVERY = 10_000;

const DUCKDB_TYPES = {
  varchar: 'VARCHAR',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
} as const;

/** An ISO time as DuckDB's TIMESTAMP text (UTC, milliseconds); null when it is no time. */
function timestampText(ms: number | undefined): string | null {
  if (ms === undefined || Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** One column's value of `item`, as the view types it. */
function columnValue(column: ViewColumn, item: Record<string, unknown>): unknown {
  if (column.derived === 'liveAt') return timestampText(liveAtOf(item));
  const value = item[column.attribute ?? column.name];
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case 'timestamp':
      return typeof value === 'string' ? timestampText(Date.parse(value)) : null;
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : null;
    case 'double':
      return Number.isFinite(Number(value)) ? Number(value) : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value instanceof Set ? [...value] : value);
  }
}

/** The rows of one view: a paged Scan of its table, with its filter. */
async function* rowsOf(view: AnalyticsView): AsyncGenerator<Record<string, unknown>> {
  const input: ScanCommandInput = { TableName: tableNameOf(view.table) };
  if (view.rowsWhere) {
    input.FilterExpression = 'begins_with(#a, :p)';
    input.ExpressionAttributeNames = { '#a': view.rowsWhere.attribute };
    input.ExpressionAttributeValues = { ':p': view.rowsWhere.prefix };
  }
  for await (const page of paginateScan({ client: dynamo, pageSize: 1000 }, input))
    for (const item of page.Items ?? [])
      yield Object.fromEntries(view.columns.map((column) => [column.name, columnValue(column, item)]));
}

/** Why `to` cannot be written to, or undefined: it must not exist, or be an empty folder. */
export function targetProblem(to: string): string | undefined {
  if (!existsSync(to)) return undefined;
  if (!statSync(to).isDirectory()) return `${to} exists and is not a folder: export to a new folder`;
  if (readdirSync(to).length > 0)
    return `${to} exists and is not empty: export to a new folder (or remove this one)`;
  return undefined;
}

export interface ExportSummary {
  readonly to: string;
  readonly views: {
    readonly view: string;
    readonly table: string;
    readonly rows: number;
    readonly file: string;
  }[];
}

/**
 * Writes every view to `to` (see the module comment); `progress` gets a line per
 * `PROGRESS_EVERY` items and per view written. A `QueryError` when `to` cannot be written to,
 * before anything is read or written.
 */
export async function exportViews(to: string, progress: (line: string) => void): Promise<ExportSummary> {
  const target = resolve(to);
  const problem = targetProblem(target);
  if (problem) throw new QueryError(problem);
  if (!existsSync(dirname(target))) throw new QueryError(`${dirname(target)} does not exist`);
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  mkdirSync(partial);
  const engine = await AnalyticsEngine.open();
  try {
    const views: ExportSummary['views'][number][] = [];
    for (const view of VIEWS) {
      const lines = join(partial, `${view.name}.ndjson`);
      const out = createWriteStream(lines);
      let rows = 0;
      for await (const row of rowsOf(view)) {
        if (!out.write(`${JSON.stringify(row)}\n`)) await once(out, 'drain');
        rows++;
        if (rows % PROGRESS_EVERY === 0) progress(`export: ${view.name}: ${rows} rows read`);
      }
      out.end();
      await once(out, 'finish');
      mkdirSync(join(partial, view.name));
      const file = join(view.name, 'part-0.parquet');
      const columns = view.columns.map((c) => `'${c.name}': '${DUCKDB_TYPES[c.type]}'`).join(', ');
      await engine.connection.run(
        `COPY (SELECT * FROM read_json('${lines.replaceAll("'", "''")}', format = 'newline_delimited', ` +
          `columns = {${columns}})) TO '${join(partial, file).replaceAll("'", "''")}' (FORMAT parquet)`,
      );
      rmSync(lines);
      progress(`export: ${view.name}: ${rows} rows written to ${join(to, file)}`);
      views.push({ view: view.name, table: view.table, rows, file: join(to, file) });
    }
    if (existsSync(target)) {
      const problemNow = targetProblem(target);
      if (problemNow) throw new QueryError(problemNow);
      rmSync(target, { recursive: true });
    }
    renameSync(partial, target);
    return { to, views };
  } finally {
    engine.close();
    rmSync(partial, { recursive: true, force: true });
  }
}
