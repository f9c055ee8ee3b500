/**
 * A circuit breaker for DynamoDB, one per function instance. While DynamoDB is failing, a hook need
 * not wait its whole budget to learn it again: after a dependency failure (an error, or a write past
 * its budget) the breaker is open for `SPILL_BREAKER_MS` (default 2000), during which event hooks
 * are spilled and decisions answered by their fail mode at once, without a request to DynamoDB;
 * then the next hook tries it again, and closes the breaker if it answers.
 *
 * This is what keeps an outage within the concurrency the functions have: a hook that waits its
 * budget holds an execution that long, and at 5,000 hooks/s the budgets alone would need thousands
 * (docs/deploy.md, "Sizing"). Written by hand: it is a timestamp, not a library's worth.
 */
import { setting } from '../kernel/config.ts';

const openForMs = setting('SPILL_BREAKER_MS');
let openUntil = 0;

/** True while DynamoDB failed a moment ago: answer without trying it. */
export function breakerOpen(now = Date.now()): boolean {
  return now < openUntil;
}

/** DynamoDB failed (or was too slow): do not try it again for a while. */
export function tripBreaker(now = Date.now()): void {
  openUntil = now + openForMs;
}

/** DynamoDB answered: every hook may try it. */
export function closeBreaker(): void {
  openUntil = 0;
}
