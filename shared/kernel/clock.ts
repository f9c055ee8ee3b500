/**
 * The one clock of hook handling: the time a hook is stamped with (`receivedAt`), from which every
 * time the state and usage keep follows. It is the real time, except inside `atSimulatedTime`, which
 * only the local runtime calls, and only when told to (`SIMULATED_CLOCK=allow`): it lets the traffic
 * simulator (`npm run cli -- simulate`) stamp its hooks on past days, so per-day answers can be tried
 * locally. Nothing deployed calls it: in AWS this is `new Date()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const simulated = new AsyncLocalStorage<number>();

/** Now: the real time, or the simulated instant of the hook being handled (`atSimulatedTime`). */
export function now(): Date {
  const at = simulated.getStore();
  return at === undefined ? new Date() : new Date(at);
}

/**
 * Runs `work` with `now()` answering `at` in everything it awaits (AsyncLocalStorage): the handling
 * of one hook, as if it had arrived then. For the local runtime only (see above).
 */
export function atSimulatedTime<T>(at: Date, work: () => T): T {
  return simulated.run(at.getTime(), work);
}
