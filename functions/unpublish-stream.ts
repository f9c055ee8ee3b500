/**
 * `unPublishStream` (reference §1.3): a publisher asks to stop; the request is recorded
 * (`recordStopRequest`, shared/state/recorders.ts). The end itself arrives as a StreamStatusEvent.
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('unpublish-stream');
