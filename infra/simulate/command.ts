/**
 * `npm run cli -- simulate [--url URL] [--days N] [--from YYYY-MM-DD] [--streams N] [--viewers N]
 * [--nodes N] [--seed N] [--concurrency N] [--prefix P] [--secret S]`: sets the simulated apps'
 * policies in the local tables and drives the running `npm start` (started with
 * `SIMULATED_CLOCK=allow`) with several days of a cluster's traffic (`simulator.ts`). A progress
 * line goes to stderr; the summary of what was sent, by day and app, is the command's answer (its
 * `unexpectedAnswers` counts hooks answered with neither 200 nor 403: the runtime's log says why).
 */
import { parseArgs } from 'node:util';
import { setting } from '#shared/kernel/config.ts';
import { HOOKS_PATH } from '#shared/kernel/registry.ts';
import { type SimulationSummary, simulate, simulatedApps } from './simulator.ts';

const OPTIONS = {
  url: { type: 'string' },
  days: { type: 'string' },
  from: { type: 'string' },
  streams: { type: 'string' },
  viewers: { type: 'string' },
  nodes: { type: 'string' },
  seed: { type: 'string' },
  concurrency: { type: 'string' },
  prefix: { type: 'string' },
  secret: { type: 'string' },
} as const;

/**
 * Runs `simulate` with `args` (what follows the command). A bad argument throws what
 * `usageError` makes (the CLI's exit code 2); a runtime that does not answer, or does not apply the
 * simulated times (no `SIMULATED_CLOCK=allow`), fails the command.
 */
export async function simulateCommand(
  args: readonly string[],
  usageError: (message: string) => Error,
): Promise<SimulationSummary> {
  let values: Partial<Record<keyof typeof OPTIONS, string>>;
  try {
    ({ values } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: false }));
  } catch (error) {
    throw usageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const count = (flag: keyof typeof OPTIONS, fallback: number, min = 1) => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw usageError(`--${flag} must be a whole number of at least ${min}, got "${raw}"`);
    return n;
  };
  const days = count('days', 3);
  if (days > 366) throw usageError(`--days is at most 366, got ${days}`);
  const from = values.from ?? new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
  const fromMs = Date.parse(`${from}T00:00:00Z`);
  if (
    !/^\d{4}-\d\d-\d\d$/.test(from) ||
    Number.isNaN(fromMs) ||
    new Date(fromMs).toISOString().slice(0, 10) !== from
  )
    throw usageError(`--from must be a date, YYYY-MM-DD, got "${from}"`);
  const prefix = values.prefix ?? 'sim';
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix))
    throw usageError(`--prefix must be letters, digits, - or _, got "${prefix}"`);
  const seed = count('seed', 1, 0);
  // The apps' policies, in the tables the runtime reads (it caches them for POLICY_CACHE_SECONDS).
  const { putAppPolicy } = await import('#shared/state/apps.ts');
  for (const app of Object.values(simulatedApps(prefix, seed))) await putAppPolicy(app.appKey, app.policy);
  const tty = process.stderr.isTTY === true;
  let lastLineAt = 0;
  const summary = await simulate({
    appUrl: values.url ?? `http://127.0.0.1:${setting('PORT')}${HOOKS_PATH}`,
    from,
    days,
    streams: count('streams', 20, 0),
    viewers: count('viewers', 200, 0),
    nodes: count('nodes', 3),
    seed,
    concurrency: count('concurrency', 16),
    prefix,
    ...(values.secret !== undefined && { secret: values.secret }),
    onProgress: ({ day, hooks, refused, refusedByFailMode, elapsedMs }) => {
      const rate = Math.round((hooks * 1000) / Math.max(1, elapsedMs));
      const failMode =
        refusedByFailMode > 0 ? ` (${refusedByFailMode} by fail mode: the runtime is slow)` : '';
      const line = `simulate: ${day} · ${hooks} hooks · ${refused} refused${failMode} · ${rate}/s`;
      // On a terminal one line rewritten; in a log a line every 10 s.
      if (tty) process.stderr.write(`\r${line}   `);
      else if (elapsedMs - lastLineAt >= 10_000) {
        lastLineAt = elapsedMs;
        process.stderr.write(`${line}\n`);
      }
    },
  });
  if (tty) process.stderr.write('\n');
  return summary;
}
