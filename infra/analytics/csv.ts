/** One CSV field (RFC 4180): quoted, its quotes doubled, when it holds a quote, comma or line break. */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows as CSV (RFC 4180): a header of the first row's columns, fields quoted when they must be. */
export function toCsv(rows: readonly Record<string, unknown>[]): string {
  const first = rows[0];
  if (!first) return '';
  const columns = Object.keys(first);
  return [columns, ...rows.map((row) => columns.map((c) => row[c]))]
    .map((fields) => `${fields.map(csvField).join(',')}\r\n`)
    .join('');
}
