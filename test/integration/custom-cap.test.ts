/**
 * `MAX_STORED_CUSTOM_BYTES`: a client's `custom` past it is left out of the session and stream
 * items with its size, so that an operator can keep every item within one write unit (docs/data-model.md,
 * "Write cost per hook"); one within it is kept whole, and the hooks are answered alike.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem } from '../support/tables.ts';

const CAP = 600;
let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  server = await startHookServer({ MAX_STORED_CUSTOM_BYTES: String(CAP) });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'custom-cap' });
});
afterAll(() => server.close());

describe('a custom past MAX_STORED_CUSTOM_BYTES', () => {
  it('is kept as its size on the session and the stream; a small one whole', async () => {
    const large = { profile: 'x'.repeat(1500) };
    const small = { room: 'r1' };
    const [big, ordinary] = [wcs.newSession(), wcs.newSession()];

    const answers = [
      await wcs.send('connect', wcs.connectBody(big, { custom: large })),
      await wcs.send('connect', wcs.connectBody(ordinary, { custom: small })),
    ];
    const stream = wcs.newStream(big, `cap-${randomUUID().slice(0, 6)}`, true);
    answers.push(
      await wcs.send('StreamStatusEvent', wcs.streamBody(stream, 'PUBLISHING', { custom: large })),
    );

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const bigItem = await getItem('sessions', { sessionId: big.sessionId });
    expect(bigItem).toMatchObject({ customOmittedBytes: JSON.stringify(large).length });
    expect(bigItem?.custom).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(bigItem))).toBeLessThan(1024);
    expect((await getItem('sessions', { sessionId: ordinary.sessionId }))?.custom).toBe('{"room":"r1"}');
    const streamItem = await getItem('streams', streamKey(stream));
    expect(streamItem).toMatchObject({ customOmittedBytes: JSON.stringify(large).length });
    expect(streamItem?.custom).toBeUndefined();
  });
});
