/**
 * DuckDB over an export (`npm run cli -- export`): one view per analytics view (`views.ts`) over
 * its Parquet files, so the saved queries run as they do in Athena. DuckDB lacks Trino's
 * `sequence(start, stop, step)`: it is defined here as a macro over `generate_series`, the one
 * difference between the engines the saved queries rely on. Sessions run in UTC.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, DuckDBTimestampValue } from '@duckdb/node-api';
import { VIEWS } from './views.ts';

/** A query the engine would not take (malformed, an unknown view or column): the query's fault. */
export class QueryError extends Error {}

/** A row of an answer: numbers, text, booleans, times as ISO-8601 UTC text, or null. */
export type Row = Record<string, string | number | boolean | null>;

/** `'` doubled, for a path inside an SQL string literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The Parquet files of `view` under `dir`, as `read_parquet` takes them. */
export const parquetGlob = (dir: string, view: string) => join(dir, view, '*.parquet');

function plain(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : String(value);
  if (value instanceof DuckDBTimestampValue) return new Date(Number(value.micros / 1000n)).toISOString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  const text = String(value);
  const n = Number(text);
  // DECIMAL values print as their digits: give them as numbers.
  return /^-?\d+(\.\d+)?$/.test(text) && Number.isFinite(n) ? n : text;
}

/** An in-memory DuckDB, its own, closed with `close`. */
export class AnalyticsEngine {
  private readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.instance = instance;
    this.connection = connection;
  }

  /** A DuckDB in UTC with Trino's `sequence`: views are added by `overExport`. */
  static async open(): Promise<AnalyticsEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run('CREATE MACRO sequence(a, b, step) AS generate_series(a, b, step)');
    return new AnalyticsEngine(instance, connection);
  }

  /**
   * The engine with a view per analytics view over the export in `dir`. An error (with what to do)
   * when `dir` holds no export.
   */
  static async overExport(dir: string): Promise<AnalyticsEngine> {
    const missing = VIEWS.filter((view) => !existsSync(join(dir, view.name)));
    if (missing.length > 0)
      throw new QueryError(
        `${dir} holds no export (no ${missing.map((v) => v.name).join(', ')}): write one with npm run cli -- export --to ${dir}`,
      );
    const engine = await AnalyticsEngine.open();
    for (const view of VIEWS)
      await engine.connection.run(
        `CREATE VIEW ${view.name} AS SELECT * FROM read_parquet(${literal(parquetGlob(dir, view.name))})`,
      );
    return engine;
  }

  /** The answer to `sql`, its rows as plain values; a `QueryError` saying why DuckDB refused it. */
  async query(sql: string): Promise<Row[]> {
    let rows: Record<string, unknown>[];
    try {
      rows = (await this.connection.runAndReadAll(sql)).getRowObjects();
    } catch (error) {
      throw new QueryError(`the query failed: ${(error as Error).message.split('\n')[0]}`);
    }
    return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
