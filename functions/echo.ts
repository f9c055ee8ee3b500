/**
 * The catch-all: every hook method without a dedicated handler. Answers 200 with the body mirrored,
 * as WCS's EchoApp does (reference §0), and records the call once (shared/state/recorders.ts).
 */
import { recordingHook } from '#shared/http/hook-handler.ts';

export const handler = recordingHook('echo');
