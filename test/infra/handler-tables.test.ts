/**
 * Each handler needs exactly the tables the registry declares for it, and the CDK stack grants
 * exactly those (test/infra). Here: a handler loads, in a fresh Node process, with only its declared
 * tables configured, and fails to load without any one of them, as a deployed function would.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { FUNCTIONS, type TableName } from '../../shared/kernel/registry.ts';
import { FUNCTION_NAME_ENV } from '../../shared/store/access.ts';
import { TABLES } from '../../shared/store/tables.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function load(handler: string, tables: readonly TableName[]) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // As the CDK stack names each function (`infra/constructs/hook-function.ts`).
    [FUNCTION_NAME_ENV]: handler,
  };
  for (const table of tables) env[TABLES[table].envVar] = `table-${table}`;
  return spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `await import('./functions/${handler}.ts')`],
    {
      cwd: root,
      env,
      encoding: 'utf8',
    },
  );
}

describe.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])('the %s function', (handler) => {
  const declared = Object.keys(FUNCTIONS[handler].tables) as TableName[];

  it('loads with only its declared tables configured', () => {
    const result = load(handler, declared);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(declared)('does not load without the %s table', (missing) => {
    const result = load(
      handler,
      declared.filter((t) => t !== missing),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(TABLES[missing].envVar);
  });
});
