import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { encodeFrame, StompDecoder } from '../../shared/stomp/codec.ts';

describe('StompDecoder', () => {
  it('decodes the CONNECT of the WCS OAM documentation', () => {
    const frames = new StompDecoder().push('CONNECT\naccept-version:1.2\nhost:hostname\n\n\0');
    expect(frames).toEqual([
      { command: 'CONNECT', headers: { 'accept-version': '1.2', host: 'hostname' }, body: '' },
    ]);
  });

  it('reads a body by content-length, NUL bytes and all', () => {
    const body = 'a\0b';
    const frames = new StompDecoder().push(`SEND\ndestination:/app/api/x\ncontent-length:3\n\n${body}\0`);
    expect(frames[0]?.body).toBe(body);
  });

  it('unescapes header values and keeps the first of repeated headers', () => {
    const frames = new StompDecoder().push('SEND\ndestination:/a\\cb\\nc\\\\d\nfoo:1\nfoo:2\n\n\0');
    expect(frames[0]?.headers).toEqual({ destination: '/a:b\nc\\d', foo: '1' });
  });

  it('counts bare EOLs as heart-beats', () => {
    const decoder = new StompDecoder();
    decoder.push('\n');
    decoder.push('\r\n');
    expect(decoder.heartbeats).toBe(2);
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
          const wire = frames.map((f) => encodeFrame(f.command, { ...f.headers }, f.body)).join('');
          const bytes = new TextEncoder().encode(wire);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const decoder = new StompDecoder();
          const decoded = [0, ...points, bytes.length]
            .slice(1)
            .flatMap((end, i, all) => decoder.push(bytes.slice(i === 0 ? 0 : all[i - 1], end).buffer));
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
