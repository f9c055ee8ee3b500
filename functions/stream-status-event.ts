/**
 * `StreamStatusEvent` (reference §1.4): a stream is PUBLISHING, PLAYING, UNPUBLISHED, STOPPED or
 * FAILED. Recorded by `streamStatusChanged` (shared/state/recorders.ts); an ended stream releases
 * its name or its place.
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('stream-status-event');
