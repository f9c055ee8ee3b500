/**
 * Replays a spilled hook (`spill.ts`) through the recorder its method's handler runs live
 * (`shared/state/recorders.ts`), so it is applied as it would have been when it arrived. Only the
 * spill replayer imports this module: it needs every table the recording handlers write.
 */
import { eventRecorder } from '../state/events.ts';
import { recorderByMethod } from '../state/recorders.ts';
import type { SpilledHook } from './spill.ts';

const recordEvent = eventRecorder();
const record = recorderByMethod();

/** Applies `hook` as it would have been applied when it was received. */
export async function replaySpilled(hook: SpilledHook): Promise<void> {
  const receivedAt = new Date(hook.receivedAt);
  if (hook.unidentified) {
    // Kept whole, as the live hook kept it: it could not be identified then either.
    const body = hook.raw === undefined ? hook.body : { value: hook.raw };
    await recordEvent({
      method: hook.method,
      body: body as Record<string, unknown>,
      digest: hook.digest,
      receivedAt,
      unidentified: hook.unidentified,
    });
    return;
  }
  await record(hook.body, { method: hook.method, digest: hook.digest, receivedAt });
}
