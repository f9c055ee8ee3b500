/**
 * Replays a spilled event hook (`spill.ts`) through the same domain code its handler runs. Only
 * the spill replayer imports this module: it needs every table the event handlers write.
 */

import {
  anyHookBody,
  connectionStatusEventBody,
  dataStatusEventBody,
  streamEventBody,
  streamStatusEventBody,
} from '../kernel/schemas.ts';
import { recordDataStatus } from '../state/data-messages.ts';
import { eventRecorder } from '../state/events.ts';
import { connectionStatusChanged } from '../state/session-status.ts';
import { streamStatusChanged } from '../state/stream-status.ts';
import { recordStopRequest } from '../state/streams.ts';
import type { SpilledHook } from './spill.ts';

const recordEvent = eventRecorder();

type Replayer = (body: Record<string, unknown>, receivedAt: Date, hook: SpilledHook) => Promise<unknown>;

const REPLAYERS: Readonly<Record<string, Replayer>> = {
  ConnectionStatusEvent: (body, at) => connectionStatusChanged(connectionStatusEventBody.parse(body), at),
  StreamStatusEvent: (body, at) => streamStatusChanged(streamStatusEventBody.parse(body), at),
  unPublishStream: (body, at) => recordStopRequest(streamEventBody.parse(body), at),
  stopStream: (body, at) => recordStopRequest(streamEventBody.parse(body), at),
  DataStatusEvent: (body, at) => recordDataStatus(dataStatusEventBody.parse(body), at),
};

/** Every other method is recorded as the catch-all records it. */
const recordAsEvent: Replayer = (body, at, hook) =>
  recordEvent({ method: hook.method, body: anyHookBody.parse(body), digest: hook.digest, receivedAt: at });

/** Applies `hook` as it would have been applied when it was received. */
export async function replaySpilled(hook: SpilledHook): Promise<void> {
  if (hook.unidentified) {
    const body = hook.raw === undefined ? hook.body : { value: hook.raw };
    await recordEvent({
      method: hook.method,
      body: body as Record<string, unknown>,
      digest: hook.digest,
      receivedAt: new Date(hook.receivedAt),
      unidentified: hook.unidentified,
    });
    return;
  }
  const replayer = REPLAYERS[hook.method] ?? recordAsEvent;
  await replayer(hook.body, new Date(hook.receivedAt), hook);
}
