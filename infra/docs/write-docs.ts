/** `npm run docs`: regenerates the documentation that is derived from code. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from './configuration-doc.ts';
import { renderDataModelDoc } from './data-model-doc.ts';
import { renderHooksDoc } from './hooks-doc.ts';

writeFileSync(new URL('../../docs/hooks.md', import.meta.url), renderHooksDoc());
process.stdout.write('wrote docs/hooks.md\n');
writeFileSync(new URL('../../docs/configuration.md', import.meta.url), renderConfigurationDoc());
process.stdout.write('wrote docs/configuration.md\n');
const dataModel = new URL('../../docs/data-model.md', import.meta.url);
writeFileSync(dataModel, renderDataModelDoc(readFileSync(dataModel, 'utf8')));
process.stdout.write('wrote the generated parts of docs/data-model.md\n');
