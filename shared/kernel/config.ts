/**
 * Configuration read from the environment, once, at module load: a function whose configuration is
 * wrong fails when it starts, not on its first hook. Each store module reads its own table name, so
 * a function only needs the variables of the tables it uses.
 */

/** The value of `name`, or a thrown error naming it: configuration that must be present. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is required but not set`);
  }
  return value;
}

/** A positive integer from `name`, or `fallback` when unset; a malformed value fails at start. */
export function integerEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`environment variable ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** A boolean from `name` (`true`/`1`/`yes`), or `fallback` when unset. */
export function booleanEnv(name: string, fallback: boolean): boolean {
  const raw = process.env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  return raw === 'true' || raw === '1' || raw === 'yes';
}

/**
 * The largest hook body the spill can always take: SQS carries 256 KiB per message, and a spilled
 * hook is the body with its method, time and digest around it (`shared/http/spill.ts`).
 */
export const MAX_SPILLABLE_BODY_BYTES = 250 * 1024;

/** Defaults, documented in the README's configuration table. */
export const DEFAULTS = {
  /** Room left under SQS's 256 KiB message for the spill's envelope: any event can be spilled. */
  hookBodyLimitBytes: 240 * 1024,
  retentionDays: 30,
} as const;
