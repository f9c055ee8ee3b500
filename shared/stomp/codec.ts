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

/** Decodes the frames of one connection, whatever the boundaries of the messages carrying them. */
export class StompDecoder {
  private readonly parser: Parser;
  private frames: StompFrame[] = [];
  /** Heart-beats (bare EOLs) seen since the last `push`. */
  heartbeats = 0;

  constructor() {
    this.parser = new Parser(
      (raw) => {
        const frame = FrameImpl.fromRawFrame(raw, raw.command !== 'CONNECT');
        const headers: Record<string, string> = {};
        // Repeated headers: STOMP 1.2 §"Repeated Header Entries": only the first is used.
        for (const [key, value] of raw.headers) {
          const unescaped = frame.headers[key];
          if (!(key in headers)) headers[key] = unescaped ?? value;
        }
        this.frames.push({ command: frame.command, headers, body: frame.body });
      },
      () => {
        this.heartbeats++;
      },
    );
  }

  /** Feeds one WebSocket message; returns the frames it completed. */
  push(message: string | ArrayBuffer): StompFrame[] {
    this.parser.parseChunk(message);
    const done = this.frames;
    this.frames = [];
    return done;
  }
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
