/** `npm run docs`: regenerates the documentation that is derived from code. */
import { writeFileSync } from 'node:fs';
import { renderHooksDoc } from './hooks-doc.ts';

writeFileSync(new URL('../../docs/hooks.md', import.meta.url), renderHooksDoc());
process.stdout.write('wrote docs/hooks.md\n');
