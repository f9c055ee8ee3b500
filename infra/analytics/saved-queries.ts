/**
 * The saved queries: one `.sql` file per analyst question in `queries/`, its name the file's, its
 * description the comment it opens with. The same text runs locally (`npm run cli -- sql --saved
 * NAME`, DuckDB over an export) and in AWS (an Athena named query of the same name, in the stack's
 * workgroup): it names only the views of `views.ts`, and functions both engines have (`sequence`,
 * missing in DuckDB, is defined there as a macro: `duckdb.ts`). Two habits keep the answers equal:
 * divide by a double (`/ 60000e0`: Trino keeps a decimal quotient to its operands' scale, `60000.0`
 * would round minutes to 0.1), and never give `GREATEST`/`LEAST` a null (DuckDB skips it, Trino
 * answers null).
 */
import { readdirSync, readFileSync } from 'node:fs';

const DIRECTORY = new URL('./queries/', import.meta.url);

export interface SavedQuery {
  /** The file's name without `.sql`: `app_daily_usage`. */
  readonly name: string;
  /** The question it answers: its opening comment, as one line. */
  readonly description: string;
  /** The query, comments included. */
  readonly sql: string;
}

/** Every saved query, by name. */
export const SAVED_QUERIES: readonly SavedQuery[] = readdirSync(DIRECTORY)
  .filter((file) => file.endsWith('.sql'))
  .sort()
  .map((file) => {
    const sql = readFileSync(new URL(file, DIRECTORY), 'utf8');
    const description = sql
      .split('\n')
      .filter((line) => line.startsWith('-- '))
      .map((line) => line.slice(3).trim())
      .join(' ');
    return { name: file.slice(0, -'.sql'.length), description, sql };
  });

/** The saved query named `name`, or undefined. */
export const savedQuery = (name: string): SavedQuery | undefined =>
  SAVED_QUERIES.find((q) => q.name === name);
