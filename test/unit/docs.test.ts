import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { renderHooksDoc } from '../../infra/docs/hooks-doc.ts';
import { HOOKS } from '../../shared/hooks.ts';

describe('docs/hooks.md', () => {
  it('is what the registry renders today (run `npm run docs` after changing shared/hooks.ts)', () => {
    const committed = readFileSync(new URL('../../docs/hooks.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderHooksDoc());
  });

  it('names every registered hook', () => {
    const doc = renderHooksDoc();
    for (const hook of HOOKS) expect(doc).toContain(`| \`${hook.method}\` |`);
  });
});
