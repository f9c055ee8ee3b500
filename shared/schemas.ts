/**
 * Hook bodies, as the reference lists their fields (§1.2–§1.5, §3.4–§3.5). Every schema is a loose
 * object: unknown fields pass, because WCS releases add fields. Optional fields accept `null`, which
 * WCS (Java) sends for unset values. Identifiers are bounded so that no body can make a key that
 * DynamoDB refuses (a partition key is at most 2048 bytes).
 */
import './zod-locale.ts';
import * as z from 'zod/mini';

const identifier = z.string().check(z.minLength(1), z.maxLength(512));
const text = z.string().check(z.maxLength(8192));
const optional = <T extends z.ZodMiniType>(schema: T) => z.nullish(schema);

/** The context every session-scoped hook carries; WCS never lets a backend redefine these (§1.3). */
const context = {
  nodeId: identifier,
  appKey: identifier,
  sessionId: identifier,
};

/** `connect` (§1.2): the client's session, with its versions, media providers and `custom` object. */
export const connectBody = z.looseObject({
  ...context,
  mediaProviders: optional(z.array(z.string().check(z.maxLength(64))).check(z.maxLength(32))),
  clientVersion: optional(text),
  clientOSVersion: optional(text),
  clientBrowserVersion: optional(text),
  custom: optional(z.unknown()),
});
export type ConnectBody = z.infer<typeof connectBody>;

/** `ConnectionStatusEvent` (§1.4): `ESTABLISHED`, `FAILED` or `DISCONNECTED`, with `info` on failure. */
export const connectionStatusEventBody = z.extend(connectBody, {
  status: identifier,
  info: optional(text),
});
export type ConnectionStatusEventBody = z.infer<typeof connectionStatusEventBody>;

/** The stream object of publishStream, playStream, unPublishStream, stopStream and the stream events (§1.3, §3.4). */
export const streamBody = z.looseObject({
  ...context,
  mediaSessionId: identifier,
  name: z.string().check(z.maxLength(1024)),
  published: z.boolean(),
  status: optional(identifier),
  info: optional(text),
  hasVideo: optional(z.boolean()),
  hasAudio: optional(z.boolean()),
  record: optional(z.boolean()),
  recordName: optional(text),
  audioCodec: optional(text),
  videoCodec: optional(text),
  width: optional(z.number()),
  height: optional(z.number()),
  bitrate: optional(z.number()),
  minBitrate: optional(z.number()),
  maxBitrate: optional(z.number()),
  quality: optional(z.number()),
  mediaProvider: optional(text),
  mediaType: optional(text),
  transport: optional(text),
  cvoExtension: optional(z.boolean()),
  createDate: optional(z.number()),
  rtmpUrl: optional(text),
  sdp: optional(z.string()),
  custom: optional(z.unknown()),
  audioState: optional(z.looseObject({ muted: optional(z.boolean()) })),
  videoState: optional(z.looseObject({ muted: optional(z.boolean()) })),
});
export type StreamBody = z.infer<typeof streamBody>;

/** StreamStatusEvent and StreamKeepAliveEvent always say which status the stream is in. */
export const streamStatusEventBody = z.extend(streamBody, { status: identifier });
export type StreamStatusEventBody = z.infer<typeof streamStatusEventBody>;

/** `OnDataEvent` (§1.3): arbitrary JSON `payload` from `session.sendData()`, identified by `operationId`. */
export const onDataEventBody = z.looseObject({
  ...context,
  operationId: identifier,
  payload: z.unknown().check(z.refine((value) => value !== undefined, 'payload is required')),
});
export type OnDataEventBody = z.infer<typeof onDataEventBody>;

/** `DataStatusEvent` (§1.4): `ACCEPTED` or `FAILED` for one `operationId`. */
export const dataStatusEventBody = z.looseObject({
  ...context,
  operationId: identifier,
  status: identifier,
  info: optional(text),
});
export type DataStatusEventBody = z.infer<typeof dataStatusEventBody>;

/**
 * `ErrorEvent` and every hook the catch-all answers: any JSON object. Only the context fields are
 * checked, when present, since they become keys; everything else is stored as WCS sent it, so the
 * catch-all never refuses a hook a newer WCS sends in a shape we have not seen.
 */
export const anyHookBody = z.looseObject({
  nodeId: optional(identifier),
  appKey: optional(identifier),
  sessionId: optional(identifier),
  mediaSessionId: optional(identifier),
});
export type AnyHookBody = z.infer<typeof anyHookBody>;
