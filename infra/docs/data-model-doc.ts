/**
 * The parts of `docs/data-model.md` that are facts of `shared/store/tables.ts`: how many tables
 * there are and their environment variables, and each table's keys and indexes. They are written
 * between `<!-- generated:... -->` and `<!-- end generated -->` markers; the prose around them is
 * the document's own. `npm run docs` rewrites them; a test fails when they are out of date.
 */
import { type KeyAttribute, LOCAL_QUEUE_TABLE, TABLES, type TableDefinition } from '#shared/store/tables.ts';

const code = (text: string) => `\`${text}\``;
/** A Markdown table cell: a `|` in it would end the cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');
const keyCell = (key: KeyAttribute) => cell(`${code(key.name)}${key.about ? `: ${key.about}` : ''}`);

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The key and index tables of one table. */
export function renderTableKeys(definition: TableDefinition): string[] {
  const lines = table(
    ['key', 'attribute'],
    [
      ['partition', keyCell(definition.partitionKey)],
      ...(definition.sortKey ? [['sort', keyCell(definition.sortKey)]] : []),
    ],
  );
  const indexes = [
    ...definition.globalIndexes.map((i) => ({ ...i, kind: 'global' })),
    ...definition.localIndexes.map((i) => ({ ...i, kind: 'local' })),
  ];
  if (indexes.length > 0) {
    lines.push(
      '',
      ...table(
        ['index', 'kind', 'partition', 'sort', 'projection', 'holds'],
        indexes.map((i) => [
          code(i.indexName),
          i.kind,
          keyCell(i.partitionKey),
          i.sortKey ? keyCell(i.sortKey) : '',
          i.projection === 'KEYS_ONLY'
            ? 'keys'
            : i.projection === 'ALL'
              ? 'all'
              : `keys + ${i.projection.map(code).join(', ')}`,
          i.holds,
        ]),
      ),
    );
  }
  return lines;
}

/** The introduction's facts: the number of tables and their environment variables. */
export function renderTableList(): string[] {
  const all = Object.values(TABLES);
  return [
    `There are ${all.length} tables, in AWS and locally: ${all.map((t) => code(t.name)).join(', ')}.`,
    `Locally one more, ${code(LOCAL_QUEUE_TABLE.name)}, stands in for SQS (the send queue).`,
    `Each function gets the physical name of each table it uses in an environment variable:`,
    `${all.map((t) => code(t.envVar)).join(', ')}.`,
  ];
}

const MARKER = /<!-- generated:([a-zA-Z-]+) -->\n[\s\S]*?<!-- end generated -->/g;

/** `document` with every generated block rewritten from the table definitions. */
export function renderDataModelDoc(document: string): string {
  return document.replace(MARKER, (_match, what: string) => {
    const body =
      what === 'tables'
        ? renderTableList()
        : renderTableKeys(
            (TABLES as Record<string, TableDefinition>)[what] ??
              (what === LOCAL_QUEUE_TABLE.name
                ? LOCAL_QUEUE_TABLE
                : (() => {
                    throw new Error(`docs/data-model.md names an unknown table "${what}"`);
                  })()),
          );
    return `<!-- generated:${what} -->\n${body.join('\n')}\n<!-- end generated -->`;
  });
}

/** The tables whose keys the document shows, in the order it shows them. */
export function documentedTables(document: string): string[] {
  return [...document.matchAll(MARKER)].map((m) => m[1] as string).filter((w) => w !== 'tables');
}
