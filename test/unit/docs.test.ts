import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { renderConfigurationDoc } from '../../infra/docs/configuration-doc.ts';
import { documentedTables, renderDataModelDoc } from '../../infra/docs/data-model-doc.ts';
import { renderHooksDoc } from '../../infra/docs/hooks-doc.ts';
import { SETTINGS } from '../../shared/kernel/config.ts';
import { HOOKS } from '../../shared/kernel/registry.ts';
import { TABLES } from '../../shared/store/tables.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs/hooks.md', () => {
  it('is what the registry renders today (run `npm run docs` after changing shared/kernel/registry.ts)', () => {
    expect(read('docs/hooks.md')).toBe(renderHooksDoc());
  });

  it('names every registered hook', () => {
    const doc = renderHooksDoc();
    for (const hook of HOOKS) expect(doc).toContain(`| \`${hook.method}\` |`);
  });
});

describe('docs/data-model.md', () => {
  it('shows the keys and indexes the table definitions have today (run `npm run docs` after changing them)', () => {
    const committed = read('docs/data-model.md');
    expect(committed).toBe(renderDataModelDoc(committed));
  });

  it('shows the keys of every table', () => {
    expect(documentedTables(read('docs/data-model.md')).sort()).toEqual(
      [...Object.keys(TABLES), 'queue'].sort(),
    );
  });
});

describe('docs/configuration.md', () => {
  it('is what the configuration catalogue renders today (run `npm run docs` after changing shared/kernel/config.ts)', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigurationDoc());
  });
});

describe('the configuration catalogue', () => {
  const sources = ['shared', 'functions'].flatMap((dir) =>
    (readdirSync(new URL(`../../${dir}`, import.meta.url), { recursive: true, encoding: 'utf8' }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `${dir}/${file}`),
  );

  it('is the one place of shared/ and functions/ that reads the environment', () => {
    const readers = sources.filter((file) => /process\.env\b/.test(read(file)));
    expect(readers).toEqual(['shared/kernel/config.ts']);
  });

  it('lists only variables something reads or sets', () => {
    const code = [
      ...sources,
      ...[
        'infra/local/main.ts',
        'infra/local/hook-server.ts',
        'infra/local/tls.ts',
        'infra/constructs/node-poller.ts',
        'infra/constructs/hook-function.ts',
        'infra/stacks/wcs-hooks-stack.ts',
        'infra/constructs/realtime-api.ts',
        'infra/constructs/sender-service.ts',
        'infra/constructs/spill-replayer.ts',
        'shared/store/access.ts',
      ],
    ]
      .filter((file) => file !== 'shared/kernel/config.ts')
      .map(read)
      .join('\n');
    for (const name of Object.keys(SETTINGS)) expect([name, code.includes(name)]).toEqual([name, true]);
  });
});

describe('the architecture pictures', () => {
  it.each(['docs/architecture.md', 'docs/deploy.md'])('%s shows every table', (doc) => {
    const picture = read(doc)
      .split('```')
      .filter((_, i) => i % 2 === 1)
      .find((block) => block.includes('DynamoDB'));
    expect(picture).toBeDefined();
    for (const table of Object.keys(TABLES)) expect([table, picture?.includes(table)]).toEqual([table, true]);
  });
});
