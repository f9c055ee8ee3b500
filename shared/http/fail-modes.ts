/**
 * A deadline for every decision. WCS waits up to `rest_request_timeout` (15 s by default, reference
 * §0.2) for a decision hook, and the client waits with it; a backend that is slow because DynamoDB
 * is slow must still answer. Each decision runs within `DECISION_BUDGET_MS` (default 1000); past it,
 * or when a dependency fails, the hook answers by its fail mode: `open` admits, `closed` refuses.
 * Each decision hook's default fail mode, and why, is in the registry (`shared/kernel/registry.ts`);
 * `DECISION_FAIL_MODES` (JSON) overrides them.
 */
import { setting } from '../kernel/config.ts';
import { decisionHooks, type FailMode } from '../kernel/registry.ts';

export type { FailMode } from '../kernel/registry.ts';

/** The default fail mode of each decision hook, by method (from the registry). */
export const DEFAULT_FAIL_MODES: Readonly<Record<string, FailMode>> = Object.fromEntries(
  decisionHooks().map(({ hook, failMode }) => [hook.method, failMode]),
);

export const decisionBudgetMs = setting('DECISION_BUDGET_MS');

/**
 * The fail modes `DECISION_FAIL_MODES` sets (JSON: decision method → `open` or `closed`). Anything
 * else throws, naming the problem: a function that cannot honour its fail modes must not start.
 */
export function parseFailModes(raw: string | undefined): Record<string, FailMode> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`DECISION_FAIL_MODES is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('DECISION_FAIL_MODES must be a JSON object: {"<decision method>": "open" | "closed"}');
  for (const [method, mode] of Object.entries(parsed)) {
    if (!(method in DEFAULT_FAIL_MODES)) {
      throw new Error(
        `DECISION_FAIL_MODES names ${method}, which is not a decision hook (${Object.keys(DEFAULT_FAIL_MODES).join(', ')})`,
      );
    }
    if (mode !== 'open' && mode !== 'closed') {
      throw new Error(
        `DECISION_FAIL_MODES.${method} must be "open" or "closed", got ${JSON.stringify(mode)}`,
      );
    }
  }
  return parsed as Record<string, FailMode>;
}

const modes = { ...DEFAULT_FAIL_MODES, ...parseFailModes(setting('DECISION_FAIL_MODES')) };

/** The fail mode of decision hook `method`. */
export function failModeOf(method: string): FailMode {
  return modes[method] ?? 'open';
}
