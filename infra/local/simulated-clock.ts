/**
 * The simulated clock of the local runtime: with `SIMULATED_CLOCK=allow`, a hook that carries
 * `SIMULATED_TIME_HEADER` (an ISO 8601 time) is handled as if it had arrived then
 * (`shared/kernel/clock.ts`), so the traffic simulator can make several days of data in minutes.
 * Only this server reads the header, and only when allowed; the deployed stack has neither.
 */
import type { IncomingMessage } from 'node:http';

/** The header that carries a hook's simulated arrival time. */
export const SIMULATED_TIME_HEADER = 'x-wcs-hooks-simulated-time';

/** A header value that is no time: the hook is refused (400), not stamped on arrival unnoticed. */
export class BadSimulatedTimeError extends Error {}

/**
 * The simulated time `request` carries, or `undefined` when it carries none. A value that is not a
 * full ISO 8601 time (`2026-11-02T10:15:00.000Z`) throws `BadSimulatedTimeError`.
 */
export function simulatedTimeOf(request: IncomingMessage): Date | undefined {
  const raw = request.headers[SIMULATED_TIME_HEADER];
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(at))
    throw new BadSimulatedTimeError(`${SIMULATED_TIME_HEADER} must be an ISO 8601 time, got "${text}"`);
  return new Date(at);
}
