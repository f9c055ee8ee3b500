/**
 * `ConnectionStatusEvent` (reference §1.4): the session became ESTABLISHED, FAILED or DISCONNECTED.
 * Recorded by `connectionStatusChanged` (shared/state/recorders.ts); an ended session releases its streams' holds.
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('connection-status-event');
