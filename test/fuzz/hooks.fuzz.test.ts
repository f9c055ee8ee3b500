/**
 * Fuzzing every hook in the registry through the real HTTP path (fast-check): random bodies,
 * truncated JSON, wrong types, huge strings, deep nesting, unicode, wrong signatures. Invariants:
 * never a 5xx, always a JSON answer, a 4xx for a client mistake writes nothing, and the server
 * keeps answering. `FUZZ_RUNS` sets the number of runs (default 150; a long run: FUZZ_RUNS=5000).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { HOOKS } from '../../shared/kernel/registry.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';
import { getItem, queryBy } from '../support/tables.ts';

const SECRET = 'fuzz-secret';
const LIMIT = 8192;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
let server: RunningHookServer;
let wcs: FakeWcs;
let counter = 0;

beforeAll(async () => {
  server = await startHookServer({ WCS_HOOK_SECRET: SECRET, HOOK_BODY_LIMIT_BYTES: String(LIMIT) });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'fuzz', secret: SECRET });
});
afterAll(() => server.close());

const methods = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOOKS.map((h) => h.method)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/) },
);

/** A value of a random JSON type, to put where a field expects another. */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A body shaped like a hook: the context, stream and data fields, each sometimes of the wrong type. */
const hookLike = fc.record(
  {
    nodeId: fc.oneof(fc.constant('n@127.0.0.1'), anyJson),
    appKey: fc.oneof(fc.constant('fuzz'), anyJson),
    mediaSessionId: fc.oneof(fc.uuid(), anyJson),
    name: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), anyJson),
    published: fc.oneof(fc.boolean(), anyJson),
    status: fc.oneof(
      fc.constantFrom('PUBLISHING', 'UNPUBLISHED', 'ESTABLISHED', 'DISCONNECTED', 'FAILED', 'ACCEPTED'),
      anyJson,
    ),
    operationId: fc.oneof(fc.uuid(), anyJson),
    payload: anyJson,
    custom: anyJson,
    width: fc.oneof(fc.integer(), anyJson),
    info: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), anyJson),
    extra: fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 5 }),
  },
  { requiredKeys: [] },
);

/** Nested arrays or objects `depth` deep. */
const deep = fc.integer({ min: 50, max: 3000 }).map((depth) => {
  const open = depth % 2 === 0 ? '['.repeat(depth) : '{"a":'.repeat(depth);
  const close = depth % 2 === 0 ? ']'.repeat(depth) : '}'.repeat(depth);
  return `{"sessionId":"SID","custom":${open}1${close}}`;
});

type Case = { raw: string; signature: 'good' | 'missing' | 'wrong' | 'garbage'; contentType: string };

const bodies: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: hookLike.map((b) => JSON.stringify({ sessionId: 'SID', ...b })) },
  {
    weight: 2,
    arbitrary: fc.tuple(hookLike, fc.nat()).map(([b, n]) => {
      const text = JSON.stringify({ sessionId: 'SID', ...b });
      return text.slice(0, n % text.length);
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: deep },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: LIMIT - 100, max: LIMIT * 2 })
      .map((n) => JSON.stringify({ sessionId: 'SID', info: 'x'.repeat(n) })),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `{"sessionId":"SID","info":"${s}"}`),
  },
);

const cases: fc.Arbitrary<Case> = fc.record({
  raw: bodies,
  signature: fc.constantFrom('good', 'good', 'good', 'missing', 'wrong', 'garbage'),
  contentType: fc.constantFrom(
    'application/json;charset=UTF-8',
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
  ),
});

async function written(sessionId: string): Promise<string[]> {
  const found: string[] = [];
  if (await getItem('sessions', { sessionId })) found.push('sessions');
  for (const table of ['streams', 'events', 'dataMessages'] as const) {
    const items = await queryBy(table, 'sessionId', sessionId);
    // A refused OnDataEvent is a decision, recorded as REFUSED: not a write of bad input.
    if (items.some((i) => i.decision !== 'REFUSED')) found.push(table);
  }
  return found;
}

describe('every hook, fuzzed through HTTP', () => {
  it('never answers 5xx, always answers JSON, and writes nothing on a client mistake', async () => {
    await fc.assert(
      fc.asyncProperty(methods, cases, async (method, c) => {
        const sessionId = `fuzz-${process.pid}-${counter++}`;
        const raw = c.raw.replaceAll('SID', sessionId);
        const authorization = {
          good: wcs.sign(raw),
          missing: undefined,
          wrong: wcs.sign(raw, 'not-the-secret'),
          garbage: 'WCS zz-not-hex',
        }[c.signature];

        const reply = await wcs.sendRaw(method, raw, { authorization, 'content-type': c.contentType });

        expect(reply.status).toBeLessThan(500);
        expect(reply.contentType).toMatch(/^application\/json/);
        expect(reply.json).toBeDefined();
        if (reply.status >= 400 && reply.json?.error !== 'Forbidden')
          expect(await written(sessionId)).toEqual([]);
        // The local server refuses a body over the limit from its length, before reading it (413).
        if (c.signature !== 'good' && Buffer.byteLength(raw) <= LIMIT)
          expect(reply.status).toBe(method.match(/^[A-Za-z][A-Za-z0-9_]{0,63}$/) ? 403 : 404);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 300_000);

  it('keeps answering afterwards', async () => {
    const reply = await wcs.send('connect', wcs.connectBody(wcs.newSession()));
    expect(reply.status).toBe(200);
  });
});
