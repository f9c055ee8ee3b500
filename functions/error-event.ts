/**
 * `ErrorEvent` (reference §1.4): WCS reports an error to a client; recorded and logged at warn level
 * (shared/state/recorders.ts).
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('error-event');
