/**
 * Hook bodies, as the reference lists their fields (§1.2–§1.5, §3.4–§3.5). Every schema is a loose
 * object: unknown fields pass, because WCS releases add fields. Optional fields accept `null`, which
 * WCS (Java) sends for unset values.
 *
 * Two kinds, because a refusal means different things:
 *
 * - **Decisions** (`connect`, `publishStream`, `playStream`, `OnDataEvent`): a malformed request is
 *   refused with 400 (WCS then refuses the client's action, as it should for a request it cannot
 *   vouch for).
 * - **Events** (everything that reports what already happened): only what identifies the record is
 *   required; any other field in a shape we do not expect is left out of the record, never a
 *   reason to refuse, since WCS does not resend an event. An event that cannot be identified at all
 *   is kept whole as a raw event (`shared/state/events.ts`) rather than answered 400.
 *
 * Identifiers are bounded in UTF-8 bytes, which is how DynamoDB bounds keys (`LIMITS`): every key
 * and index key built from them fits (a sort key is at most 1,024 bytes, a partition key 2,048).
 */
import './zod-locale.ts';
import * as z from 'zod/mini';

/** Longest value, in UTF-8 bytes, of each identifier a key is built from. */
export const LIMITS = {
  nodeId: 256,
  appKey: 128,
  sessionId: 256,
  mediaSessionId: 128,
  operationId: 128,
  /** A stream name: a sort key (`streamNames`), and with role and `mediaSessionId` the `liveKey`. */
  name: 512,
  status: 64,
} as const;

/** A non-empty string of at most `maxBytes` bytes in UTF-8. */
export const boundedText = (maxBytes: number) =>
  z.string().check(
    z.minLength(1),
    z.refine((value) => Buffer.byteLength(value, 'utf8') <= maxBytes, `must be at most ${maxBytes} bytes`),
  );

const identifier = (field: keyof typeof LIMITS) => boundedText(LIMITS[field]);
const text = z.string().check(z.maxLength(8192));
const optional = <T extends z.ZodMiniType>(schema: T) => z.nullish(schema);
/** A field an event may carry: kept when it has the expected shape, left out when it has not. */
const lenient = <T extends z.ZodMiniType>(schema: T) => z.catch(z.nullish(schema), undefined);

/** The context every session-scoped hook carries; WCS never lets a backend redefine these (§1.3). */
const context = {
  nodeId: identifier('nodeId'),
  appKey: identifier('appKey'),
  sessionId: identifier('sessionId'),
};

/** What WCS says about the client (§3.5); the same in `connect` and `ConnectionStatusEvent`. */
const clientFields = {
  mediaProviders: z.array(z.string().check(z.maxLength(64))).check(z.maxLength(32)),
  clientVersion: text,
  clientOSVersion: text,
  clientBrowserVersion: text,
  custom: z.unknown(),
};

/** `connect` (§1.2): the client's session, with its versions, media providers and `custom` object. */
export const connectBody = z.looseObject({
  ...context,
  mediaProviders: optional(clientFields.mediaProviders),
  clientVersion: optional(text),
  clientOSVersion: optional(text),
  clientBrowserVersion: optional(text),
  custom: optional(z.unknown()),
});
export type ConnectBody = z.infer<typeof connectBody>;

/** `ConnectionStatusEvent` (§1.4), an event: `ESTABLISHED`, `FAILED` or `DISCONNECTED`, with `info` on failure. */
export const connectionStatusEventBody = z.looseObject({
  ...context,
  status: identifier('status'),
  info: lenient(text),
  mediaProviders: lenient(clientFields.mediaProviders),
  clientVersion: lenient(text),
  clientOSVersion: lenient(text),
  clientBrowserVersion: lenient(text),
  custom: lenient(z.unknown()),
});
export type ConnectionStatusEventBody = z.infer<typeof connectionStatusEventBody>;

/** The media facts of the stream object (§3.4), each optional; `shape` makes each strict or lenient. */
function mediaFields(
  shape: <T extends z.ZodMiniType>(schema: T) => z.ZodMiniType<z.infer<T> | null | undefined>,
) {
  return {
    info: shape(text),
    hasVideo: shape(z.boolean()),
    hasAudio: shape(z.boolean()),
    record: shape(z.boolean()),
    recordName: shape(text),
    audioCodec: shape(text),
    videoCodec: shape(text),
    width: shape(z.number()),
    height: shape(z.number()),
    bitrate: shape(z.number()),
    minBitrate: shape(z.number()),
    maxBitrate: shape(z.number()),
    quality: shape(z.number()),
    mediaProvider: shape(text),
    mediaType: shape(text),
    transport: shape(text),
    cvoExtension: shape(z.boolean()),
    createDate: shape(z.number()),
    rtmpUrl: shape(text),
    sdp: shape(z.string()),
    custom: shape(z.unknown()),
    audioState: shape(z.looseObject({ muted: z.catch(optional(z.boolean()), undefined) })),
    videoState: shape(z.looseObject({ muted: z.catch(optional(z.boolean()), undefined) })),
  };
}

/** The stream object of a decision, `publishStream` and `playStream` (§1.3, §3.4): every identifying field required. */
const streamDecisionFields = {
  ...context,
  mediaSessionId: identifier('mediaSessionId'),
  name: boundedText(LIMITS.name),
  status: optional(identifier('status')),
  ...mediaFields(optional),
};
export const streamBody = z.looseObject({ ...streamDecisionFields, published: z.boolean() });
export type StreamBody = z.infer<typeof streamBody>;

/**
 * `published` as its method says (§1.3): a `publishStream` is a publisher's (`true`), a
 * `playStream` the same shape with `false`. A body that says otherwise is refused naming the field,
 * not decided as the other method, whose grants its function does not hold.
 */
export const publishStreamBody = z.looseObject({ ...streamDecisionFields, published: z.literal(true) });
export const playStreamBody = z.looseObject({ ...streamDecisionFields, published: z.literal(false) });

/**
 * The stream object of an event: `unPublishStream`, `stopStream`, `StreamStatusEvent`,
 * `StreamKeepAliveEvent` (§1.3, §1.4). The stream is identified by its session and
 * `mediaSessionId`; `name` and `published` are facts about it, recorded when given (a later hook
 * fills them), and `published` is inferred from `mediaType` or the status when it is missing.
 */
export const streamEventBody = z.looseObject({
  ...context,
  mediaSessionId: identifier('mediaSessionId'),
  name: lenient(boundedText(LIMITS.name)),
  published: lenient(z.boolean()),
  status: lenient(identifier('status')),
  ...mediaFields(lenient),
});
export type StreamEventBody = z.infer<typeof streamEventBody>;

/** `StreamStatusEvent` and `StreamKeepAliveEvent` always say which status the stream is in. */
export const streamStatusEventBody = z.extend(streamEventBody, { status: identifier('status') });
export type StreamStatusEventBody = z.infer<typeof streamStatusEventBody>;

/** `OnDataEvent` (§1.3): arbitrary JSON `payload` from `session.sendData()`, identified by `operationId`. */
export const onDataEventBody = z.looseObject({
  ...context,
  operationId: identifier('operationId'),
  payload: z.unknown().check(z.refine((value) => value !== undefined, 'payload is required')),
});
export type OnDataEventBody = z.infer<typeof onDataEventBody>;

/** `DataStatusEvent` (§1.4), an event: `ACCEPTED` or `FAILED` for one `operationId`. */
export const dataStatusEventBody = z.looseObject({
  ...context,
  operationId: identifier('operationId'),
  status: identifier('status'),
  info: lenient(text),
});
export type DataStatusEventBody = z.infer<typeof dataStatusEventBody>;

/**
 * `ErrorEvent` and every hook the catch-all answers: any JSON object. The context fields are kept
 * when they can be keys, and left out (the hook is then filed under no session) when they cannot;
 * the whole body is stored as WCS sent it, so the catch-all never refuses a hook a newer WCS sends
 * in a shape we have not seen.
 */
export const anyHookBody = z.looseObject({
  nodeId: lenient(identifier('nodeId')),
  appKey: lenient(identifier('appKey')),
  sessionId: lenient(identifier('sessionId')),
  mediaSessionId: lenient(identifier('mediaSessionId')),
});
export type AnyHookBody = z.infer<typeof anyHookBody>;
