/**
 * `DataStatusEvent` (reference §1.4): WCS's ACCEPTED or FAILED for one data message. Recorded by
 * `recordDataStatus` (shared/state/recorders.ts).
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('data-status-event');
