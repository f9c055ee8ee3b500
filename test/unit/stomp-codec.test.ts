import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeFrame,
  FrameTooLargeError,
  MAX_FRAME_BYTES,
} from '../../shared/realtime/stomp/codec.ts';

const NOTHING: Uint8Array = new Uint8Array(0);
/** The frames of one message on a connection with nothing pending. */
const framesOf = (message: string) => decodeMessage(NOTHING, message).frames;

describe('decodeMessage', () => {
  it('decodes the CONNECT of the WCS OAM documentation', () => {
    const frames = framesOf('CONNECT\naccept-version:1.2\nhost:hostname\n\n\0');
    expect(frames).toEqual([
      { command: 'CONNECT', headers: { 'accept-version': '1.2', host: 'hostname' }, body: '' },
    ]);
  });

  it('reads a body by content-length, NUL bytes and all', () => {
    const body = 'a\0b';
    const frames = framesOf(`SEND\ndestination:/app/api/x\ncontent-length:3\n\n${body}\0`);
    expect(frames[0]?.body).toBe(body);
  });

  it('unescapes header values and keeps the first of repeated headers', () => {
    const frames = framesOf('SEND\ndestination:/a\\cb\\nc\\\\d\nfoo:1\nfoo:2\n\n\0');
    expect(frames[0]?.headers).toEqual({ destination: '/a:b\nc\\d', foo: '1' });
  });

  it('keeps headers named like Object properties as headers', () => {
    const frames = framesOf('SEND\nconstructor:a\n__proto__:b\ntoString:c\n\n\0');
    expect({ ...frames[0]?.headers }).toEqual({ constructor: 'a', ['__proto__']: 'b', toString: 'c' });
  });

  it('takes bare EOLs for heart-beats: no frame, nothing pending', () => {
    expect(decodeMessage(NOTHING, '\n')).toEqual({ frames: [], pending: NOTHING });
    expect(decodeMessage(NOTHING, '\r\n\n')).toEqual({ frames: [], pending: NOTHING });
  });

  it('keeps an unfinished frame pending, and completes it with the next message', () => {
    const first = decodeMessage(NOTHING, 'SEND\ndestination:/app/api/x\n\n{"req');
    expect(first.frames).toEqual([]);
    const second = decodeMessage(first.pending, 'uestId":"1"}\0SUBSCRIBE\nid:1');
    expect(second.frames).toEqual([
      { command: 'SEND', headers: { destination: '/app/api/x' }, body: '{"requestId":"1"}' },
    ]);
    expect(new TextDecoder().decode(second.pending)).toBe('SUBSCRIBE\nid:1');
  });

  it('refuses an unfinished frame longer than MAX_FRAME_BYTES', () => {
    const head = decodeMessage(
      NOTHING,
      `SEND\ndestination:/app/api/x\n\n${'a'.repeat(MAX_FRAME_BYTES - 100)}`,
    );
    expect(() => decodeMessage(head.pending, 'b'.repeat(200))).toThrow(FrameTooLargeError);
  });

  it('decodes the same frames whether they arrive joined, split, or byte by byte (property)', () => {
    const header = fc.stringMatching(/^[a-z-]{1,12}$/);
    // stompjs trims header values (see codec.ts); this property is about frame boundaries, not that.
    const value = fc.string({ unit: 'grapheme', maxLength: 20 }).map((v) => v.trim());
    const frame = fc.record({
      command: fc.constantFrom('SEND', 'SUBSCRIBE', 'MESSAGE'),
      headers: fc.dictionary(header, value, { maxKeys: 4 }),
      body: fc.string({ unit: 'grapheme', maxLength: 60 }),
    });
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          // Heart-beats (EOLs) between the frames, as a client sends them.
          const wire = frames.map((f) => encodeFrame(f.command, { ...f.headers }, f.body)).join('\n');
          const bytes = new TextEncoder().encode(wire);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          // Each message decoded on its own, with only the pending bytes carried over (as a Lambda function does).
          let pending = NOTHING;
          const decoded = [0, ...points, bytes.length].slice(1).flatMap((end, i, all) => {
            const step = decodeMessage(pending, bytes.slice(i === 0 ? 0 : all[i - 1], end));
            pending = step.pending;
            return step.frames;
          });
          expect(pending).toEqual(NOTHING);
          expect(decoded.map((d) => ({ command: d.command, body: d.body, headers: d.headers }))).toEqual(
            frames.map((f) => ({
              command: f.command,
              body: f.body,
              headers: expect.objectContaining(f.headers),
            })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('encodeFrame', () => {
  it('writes the MESSAGE of the WCS OAM documentation, with content-length and the NUL terminator', () => {
    const body = '{"requestId":"r1","status":200,"reason":"SUCCESS","payload":[]}';
    const wire = encodeFrame(
      'MESSAGE',
      { destination: '/user/service', subscription: 'sub-1', 'message-id': '3-8' },
      body,
    );
    expect(wire).toBe(
      `MESSAGE\ndestination:/user/service\nsubscription:sub-1\nmessage-id:3-8\ncontent-length:${body.length}\n\n${body}\0`,
    );
  });
});
