import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { documentedTables, renderDataModelDoc } from '../../infra/docs/data-model-doc.ts';
import { renderHooksDoc } from '../../infra/docs/hooks-doc.ts';
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
