/**
 * STOMP 1.2 frames over WebSocket messages, with the frame parser and serialiser of
 * `@stomp/stompjs` (the STOMP client the operators' dashboards already use): frames split across
 * messages or joined in one, `content-length`, NUL terminators, EOL heart-beats and header
 * escaping are its job. Its `Parser` and `FrameImpl` are exported but marked internal by the
 * library; this module is the one place that uses them, so a change there is a change here only.
 * One behaviour of the library to know: it trims whitespace around header names and values.
 * Specification: https://stomp.github.io/stomp-specification-1.2.html
 */
import { FrameImpl, Parser } from '@stomp/stompjs';

/** A decoded frame: command, headers (escaping undone, first occurrence wins, as STOMP 1.2 says), text body. */
export interface StompFrame {
  readonly command: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The longest frame accepted, in bytes. API Gateway carries WebSocket messages of up to 128 KB; a
 * request to a realm is a few hundred bytes. An unfinished frame that grows past this is refused.
 */
export const MAX_FRAME_BYTES = 128 * 1024;

export class FrameTooLargeError extends Error {
  constructor(bytes: number) {
    super(`a frame of more than ${MAX_FRAME_BYTES} bytes (${bytes} so far)`);
  }
}

/** What one WebSocket message completes, and the start of a frame it leaves unfinished. */
export interface DecodedMessage {
  readonly frames: StompFrame[];
  /** The bytes of an unfinished frame, to put before the next message (`decodeMessage`'s `pending`). */
  readonly pending: Uint8Array;
}

const NUL = 0;
const EOL_ONLY = /^[\r\n]*$/;

/**
 * Decodes one WebSocket message of a connection, after the `pending` bytes of an unfinished frame
 * the messages before it left. Stateless between calls, so a Lambda function per message can
 * decode frames split across messages (STOMP over WebSocket does not align frames with messages):
 * the pending bytes are stored with the connection. Bare EOLs between frames are heart-beats.
 *
 * The parser is fed up to each NUL byte in turn; bytes up to the last one that ended a frame are
 * consumed, the rest is pending. (A frame whose `content-length` is wrong ends where the length
 * says, not at a NUL: what follows it up to the next NUL is decoded as the next frame, as any
 * STOMP parser would, and is an error of that client's alone.)
 */
export function decodeMessage(pending: Uint8Array, message: string | Uint8Array): DecodedMessage {
  const incoming = typeof message === 'string' ? new TextEncoder().encode(message) : message;
  const bytes = new Uint8Array(pending.length + incoming.length);
  bytes.set(pending, 0);
  bytes.set(incoming, pending.length);
  const frames: StompFrame[] = [];
  const parser = new Parser(
    (raw) => {
      const frame = FrameImpl.fromRawFrame(raw, raw.command !== 'CONNECT');
      // No prototype: a client may name a header `constructor` or `__proto__`.
      const headers: Record<string, string> = Object.create(null);
      // Repeated headers: STOMP 1.2 §"Repeated Header Entries": only the first is used.
      for (const [key, value] of raw.headers) {
        const unescaped = Object.hasOwn(frame.headers, key) ? frame.headers[key] : undefined;
        if (!Object.hasOwn(headers, key)) headers[key] = unescaped ?? value;
      }
      frames.push({ command: frame.command, headers, body: frame.body });
    },
    () => undefined,
  );
  let consumed = 0;
  let from = 0;
  while (from < bytes.length) {
    const nul = bytes.indexOf(NUL, from);
    const to = nul === -1 ? bytes.length : nul + 1;
    const before = frames.length;
    parser.parseChunk(bytes.slice(from, to).buffer);
    if (frames.length > before) consumed = to;
    from = to;
  }
  const rest = bytes.subarray(consumed);
  if (rest.length > MAX_FRAME_BYTES) throw new FrameTooLargeError(rest.length);
  const onlyHeartbeats = EOL_ONLY.test(new TextDecoder().decode(rest));
  return { frames, pending: onlyHeartbeats ? new Uint8Array(0) : rest.slice() };
}

/** Encodes a frame for a WebSocket text message: escaped headers, `content-length`, NUL terminator. */
export function encodeFrame(command: string, headers: Record<string, string>, body = ''): string {
  return FrameImpl.marshall({
    command,
    headers,
    body,
    escapeHeaderValues: command !== 'CONNECTED',
  }) as string;
}
