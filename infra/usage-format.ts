/**
 * How `npm run cli -- usage` prints an answer (`shared/state/usage-answers.ts`): a table for a
 * person, CSV for a spreadsheet, JSON for a program. The rows and their fields are the realms'
 * (`usage/app`, `usage/stream`); CSV and JSON carry every field, the table the ones that fit a line.
 */
import type { UsageAnswer, UsageRows } from '#shared/state/usage-answers.ts';
import { csvField } from './analytics/csv.ts';

export const USAGE_FORMATS = ['table', 'csv', 'json'] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

export const isUsageFormat = (format: string): format is UsageFormat =>
  (USAGE_FORMATS as readonly string[]).includes(format);

const PERIOD_FIELDS = [
  'period',
  'sessions',
  'anonymousSessions',
  'uniqueUsers',
  'publishes',
  'plays',
  'publishMinutes',
  'viewerMinutes',
  'peakSessions',
  'peakSessionsAt',
  'peakPlayers',
  'peakPlayersAt',
  'refusals',
  'refusalsByReason',
  'failuresByReason',
  'dataIn',
  'dataOut',
];

/** Every field of a row, in order, by what a row is. */
const FIELDS: Readonly<Record<UsageRows, readonly string[]>> = {
  day: PERIOD_FIELDS,
  hour: PERIOD_FIELDS,
  stream: ['name', 'publishes', 'publishMinutes', 'plays', 'viewerMinutes'],
  publish: [
    'mediaSessionId',
    'start',
    'end',
    'durationMinutes',
    'live',
    'failed',
    'players',
    'viewerMinutes',
    'peakPlayers',
    'peakPlayersAt',
  ],
};

/** The fields the table shows: those that fit a line (times of peaks and reasons are in CSV and JSON). */
const TABLE_LEFT_OUT = new Set(['peakSessionsAt', 'peakPlayersAt', 'refusalsByReason', 'failuresByReason']);

/** A field's value as text: objects (reasons → counts) as JSON, nothing as empty. */
function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** `answer` as `format` prints it. */
export function formatUsage(answer: UsageAnswer, format: UsageFormat): string {
  const { rows, total: _total, more: _more, ...question } = answer;
  if (format === 'json') return JSON.stringify({ ...question, rows }, null, 2);
  const fields = FIELDS[answer.by];
  const cells = (row: object) => fields.map((f) => textOf((row as Record<string, unknown>)[f]));
  if (format === 'csv')
    return [fields, ...rows.map(cells)].map((line) => line.map(csvField).join(',')).join('\n');
  const shown = fields.map((f, i) => [f, i] as const).filter(([f]) => !TABLE_LEFT_OUT.has(f));
  const lines = [shown.map(([f]) => f), ...rows.map((row) => shown.map(([, i]) => cells(row)[i] ?? ''))];
  const widths = shown.map((_, c) => Math.max(...lines.map((line) => (line[c] ?? '').length)));
  // Numbers to the right, text to the left; the first column is what a row is.
  const valuesOf = (f: string) => rows.map((r) => (r as unknown as Record<string, unknown>)[f]);
  const numeric = shown.map(
    ([f]) =>
      valuesOf(f).every((v) => v === undefined || typeof v === 'number') &&
      valuesOf(f).some((v) => v !== undefined),
  );
  const title = `usage of ${answer.app}${answer.stream ? `, stream ${answer.stream}` : ''}, ${answer.from} to ${answer.to} (UTC), by ${answer.by}`;
  const body = lines.map((line) =>
    line
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return [title, ...body, ...(rows.length === 0 ? ['(nothing in this range)'] : [])].join('\n');
}
