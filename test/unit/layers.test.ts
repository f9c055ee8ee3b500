/**
 * The layering of `shared/` (shared/README.md): each folder imports only from itself and the
 * folders below it, so that the data layer never depends on the HTTP edge and no capability
 * reaches into another sideways (admission may use the sender: a relayed message is sent by it;
 * the endpoints verify tokens as admission does and post through the realtime API's management client).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { TABLES } from '../../shared/store/tables.ts';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');

const MAY_IMPORT: Record<string, readonly string[]> = {
  endpoints: ['endpoints', 'admission', 'realtime', 'sender', 'state', 'store', 'kernel'],
  admission: ['admission', 'sender', 'http', 'state', 'store', 'kernel'],
  monitoring: ['monitoring', 'sender', 'state', 'store', 'kernel'],
  sender: ['sender', 'state', 'store', 'kernel'],
  realtime: ['realtime', 'state', 'store', 'kernel'],
  http: ['http', 'state', 'store', 'kernel'],
  state: ['state', 'store', 'kernel'],
  store: ['store', 'kernel'],
  kernel: ['kernel'],
};

const sources = readdirSync(SHARED, { recursive: true, encoding: 'utf8' }).filter((file) =>
  file.endsWith('.ts'),
);
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** The imports of `file` (its text) that leave its own layers: each with the folder it lands in. */
function outsideLayers(file: string, text: string) {
  const allowed = MAY_IMPORT[file.split(/[\\/]/)[0] as string] ?? [];
  return [...text.matchAll(IMPORT)]
    .map((match) => match[1] as string)
    .filter((specifier) => specifier.startsWith('.') || specifier.startsWith('#'))
    .map((specifier) => {
      const target = specifier.startsWith('#')
        ? specifier
        : relative(SHARED, resolve(dirname(join(SHARED, file)), specifier));
      return { specifier, folder: target.split(/[\\/]/)[0] as string };
    })
    .filter(({ folder }) => !allowed.includes(folder));
}

describe('shared/', () => {
  it('holds only the capability folders, each described', () => {
    const folders = readdirSync(SHARED, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    expect(folders.map((folder) => folder.name).sort()).toEqual(Object.keys(MAY_IMPORT).sort());
    expect(sources.every((file) => file.includes('/') || file.includes('\\'))).toBe(true);
    const readme = readFileSync(join(SHARED, 'README.md'), 'utf8');
    for (const folder of Object.keys(MAY_IMPORT)) {
      expect(readme).toContain(`| \`${folder}/\``);
      const own = readFileSync(join(SHARED, folder, 'README.md'), 'utf8');
      expect(own).toMatch(/May import: /);
    }
  });

  it.each(sources)('%s imports only from the folders below its own', (file) => {
    expect(outsideLayers(file, readFileSync(join(SHARED, file), 'utf8'))).toEqual([]);
  });

  it('has one owning module per table: the only one that names it', () => {
    const owners = new Map<string, string[]>();
    for (const file of sources) {
      const text = readFileSync(join(SHARED, file), 'utf8');
      for (const [, table] of text.matchAll(/tableNameOf\('(\w+)'\)/g)) {
        owners.set(table as string, [...(owners.get(table as string) ?? []), file]);
      }
    }
    for (const table of Object.keys(TABLES)) expect([table, owners.get(table)?.length]).toEqual([table, 1]);
  });

  it('would see an import that runs back up', () => {
    const text =
      "import type { Refusal } from '../http/hook-handler.ts';\nimport { dynamo } from '../store/dynamo.ts';";
    expect(outsideLayers('state/sessions.ts', text)).toEqual([
      { specifier: '../http/hook-handler.ts', folder: 'http' },
    ]);
  });
});
