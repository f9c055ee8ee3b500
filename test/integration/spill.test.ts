/**
 * The spill never blocks and never drops: each spilled hook is replayed on its own against DynamoDB
 * Local, a session's hooks in the order they were spilled and different sessions' concurrently; one
 * that can never be written (its handler or DynamoDB refuses it), or a line torn by a crash
 * mid-write, is moved to the dead-letter file with its reason, and every hook behind it is still
 * written. A dependency that is down ends the pass and keeps the rest for the next one; a drain
 * interrupted (a crash) resumes where it was. The spill replayer function (SQS in AWS) follows the
 * same rules.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { replaySpilled } from '../../shared/http/replay.ts';
import { drainLocalSpill, type SpilledHook, spill } from '../../shared/http/spill.ts';
import { isDependencyFailure } from '../../shared/kernel/budget.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs, type WcsStream } from '../support/fake-wcs.ts';
import { getItem, historyOf } from '../support/tables.ts';

const wcs = new FakeWcs({ appUrl: 'http://unused', appKey: 'spill' });

/**
 * A spilled hook its handler can never take: a StreamStatusEvent without its key, as an older
 * version could spill it (today such a hook is kept as a raw event instead).
 */
function poisonSpilled() {
  const { stream, line } = spilled('PUBLISHING');
  const hook = JSON.parse(line) as SpilledHook;
  const { mediaSessionId: _dropped, ...body } = hook.body;
  return { stream, line: JSON.stringify({ ...hook, body }) };
}

/** A spilled StreamStatusEvent, as the hook adapter writes it. */
function spilled(status: string, extra: Record<string, unknown> = {}) {
  const stream = wcs.newStream(wcs.newSession(), `spill-${randomUUID().slice(0, 6)}`, true);
  const hook: SpilledHook = {
    method: 'StreamStatusEvent',
    body: wcs.streamBody(stream, status, extra),
    receivedAt: new Date().toISOString(),
    digest: randomUUID().replace(/-/g, ''),
  };
  return { stream, line: JSON.stringify(hook) };
}

function spillDirWith(lines: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'spill-'));
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'spill.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

const deadLettersIn = (dir: string) =>
  existsSync(join(dir, 'dead-letter.jsonl'))
    ? readFileSync(join(dir, 'dead-letter.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { reason: string; hook: string })
    : [];

describe('draining the local spill', () => {
  it('writes every hook behind a torn line and a hook that can never be written, and dead-letters those two with the reason', async () => {
    const before = spilled('PUBLISHING');
    const poison = poisonSpilled();
    const after = Array.from({ length: 5 }, () => spilled('PUBLISHING'));
    const torn = spilled('PUBLISHING').line.slice(0, 40);
    const dir = spillDirWith([before.line, torn, poison.line, ...after.map((a) => a.line)]);
    process.env.SPILL_DIR = dir;

    const result = await drainLocalSpill(dir, replaySpilled, isDependencyFailure);

    expect(result).toEqual({ replayed: 6, deadLettered: 2 });
    for (const { stream } of [before, ...after])
      expect(await getItem('streams', streamKey(stream))).toMatchObject({ status: 'PUBLISHING' });
    expect(await getItem('streams', streamKey(poison.stream))).toBeUndefined();
    // Replayed concurrently: the dead letters' order is not the spill's.
    const deadLetters = deadLettersIn(dir).sort((a) => (a.hook === torn ? -1 : 1));
    expect(deadLetters.map((d) => d.hook === poison.line || d.hook)).toEqual([torn, true]);
    expect(deadLetters[0]?.reason).toMatch(/not a spilled hook/);
    expect(deadLetters[1]?.reason).toMatch(/mediaSessionId/);
    expect(readdirSync(dir).filter((n) => n !== 'dead-letter.jsonl')).toEqual([]);
  });

  it('keeps every hook not written while a dependency is down for the next pass, which writes them', async () => {
    const hooks = Array.from({ length: 4 }, () => spilled('PUBLISHING'));
    const dir = spillDirWith(hooks.map((h) => h.line));
    let calls = 0;
    const downFromTheSecond = async (hook: SpilledHook) => {
      if (++calls >= 2) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await replaySpilled(hook);
    };

    const result = await drainLocalSpill(dir, downFromTheSecond, isDependencyFailure, { concurrency: 1 });

    expect(result).toEqual({ replayed: 1, deadLettered: 0 });
    expect(await getItem('streams', streamKey(hooks[0]?.stream as WcsStream))).toMatchObject({
      status: 'PUBLISHING',
    });
    for (const { stream } of hooks.slice(1))
      expect(await getItem('streams', streamKey(stream))).toBeUndefined();
    const again: string[] = [];
    const replayAgain = async (hook: SpilledHook) => {
      again.push(hook.digest);
      await replaySpilled(hook);
    };
    expect(await drainLocalSpill(dir, replayAgain, isDependencyFailure)).toEqual({
      replayed: 3,
      deadLettered: 0,
    });
    expect(again).toEqual(hooks.slice(1).map((h) => (JSON.parse(h.line) as SpilledHook).digest));
    for (const { stream } of hooks)
      expect(await getItem('streams', streamKey(stream))).toMatchObject({ status: 'PUBLISHING' });
    expect(deadLettersIn(dir)).toEqual([]);
  });

  it("replays each session's hooks in the order they were spilled, different sessions concurrently, to each one's final state", async () => {
    // Each session: ESTABLISHED, its stream PUBLISHING then UNPUBLISHED, DISCONNECTED; the sessions interleaved.
    // Fewer sessions than replays at once: without the ordering, a session's next hook would start before its last ended.
    const sessions = Array.from({ length: 5 }, () => {
      const session = wcs.newSession();
      return { session, stream: wcs.newStream(session, `order-${randomUUID().slice(0, 6)}`, true) };
    });
    const steps = [
      (s: (typeof sessions)[number]) =>
        ['ConnectionStatusEvent', wcs.connectionStatusBody(s.session, 'ESTABLISHED')] as const,
      (s: (typeof sessions)[number]) =>
        ['StreamStatusEvent', wcs.streamBody(s.stream, 'PUBLISHING')] as const,
      (s: (typeof sessions)[number]) =>
        [
          'StreamStatusEvent',
          wcs.streamBody(s.stream, 'UNPUBLISHED', { info: 'Stopped by publisher stop' }),
        ] as const,
      (s: (typeof sessions)[number]) =>
        [
          'ConnectionStatusEvent',
          wcs.connectionStatusBody(s.session, 'DISCONNECTED', 'Normal disconnect'),
        ] as const,
    ];
    const start = Date.now();
    const hooks: SpilledHook[] = steps.flatMap((step, i) =>
      sessions.map((s) => {
        const [method, body] = step(s);
        return {
          method,
          body,
          receivedAt: new Date(start + i * 10).toISOString(),
          digest: randomUUID().replace(/-/g, ''),
        };
      }),
    );
    const dir = spillDirWith(hooks.map((h) => JSON.stringify(h)));
    // Each replay takes a random while, so that one run out of order would finish out of order.
    const begun: SpilledHook[] = [];
    const underWay = new Set<string>();
    let overlapsInASession = 0;
    let mostAtOnce = 0;
    let atOnce = 0;
    const slowly = async (hook: SpilledHook) => {
      const sessionId = hook.body.sessionId as string;
      if (underWay.has(sessionId)) overlapsInASession++;
      underWay.add(sessionId);
      begun.push(hook);
      mostAtOnce = Math.max(mostAtOnce, ++atOnce);
      try {
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        await replaySpilled(hook);
      } finally {
        atOnce--;
        underWay.delete(sessionId);
      }
    };

    const result = await drainLocalSpill(dir, slowly, isDependencyFailure, { concurrency: 8 });

    expect(result).toEqual({ replayed: hooks.length, deadLettered: 0 });
    expect(overlapsInASession).toBe(0);
    expect(mostAtOnce).toBeGreaterThan(1);
    for (const { session, stream } of sessions) {
      const order = begun.filter((h) => h.body.sessionId === session.sessionId).map((h) => h.digest);
      expect(order).toEqual(hooks.filter((h) => h.body.sessionId === session.sessionId).map((h) => h.digest));
      const sessionItem = await getItem('sessions', { sessionId: session.sessionId });
      expect(sessionItem).toMatchObject({ status: 'DISCONNECTED', info: 'Normal disconnect' });
      const streamItem = await getItem('streams', streamKey(stream));
      expect(streamItem).toMatchObject({ status: 'UNPUBLISHED', info: 'Stopped by publisher stop' });
      expect(historyOf(streamItem)).toEqual(['PUBLISHING', 'UNPUBLISHED']);
    }
  });

  it('after a crash mid-drain, the next drain replays only what was not done, and together they write every line', async () => {
    const hooks = Array.from({ length: 120 }, () => spilled('PUBLISHING'));
    const dir = spillDirWith(hooks.map((h) => h.line));
    const concurrency = 4;
    // The first drain writes 50 hooks; then every replay hangs, as in a process killed mid-drain.
    const writtenBefore = new Set<string>();
    let begun = 0;
    let hanging = 0;
    const thenCrash = async (hook: SpilledHook) => {
      if (++begun > 50) {
        hanging++;
        await new Promise(() => undefined);
      }
      await replaySpilled(hook);
      writtenBefore.add(hook.digest);
    };
    void drainLocalSpill(dir, thenCrash, isDependencyFailure, { concurrency });
    while (hanging < concurrency) await new Promise((r) => setTimeout(r, 20));

    const writtenAfter: string[] = [];
    const restart = async (hook: SpilledHook) => {
      writtenAfter.push(hook.digest);
      await replaySpilled(hook);
    };
    const result = await drainLocalSpill(dir, restart, isDependencyFailure, { concurrency });

    const all = hooks.map((h) => (JSON.parse(h.line) as SpilledHook).digest);
    expect(writtenBefore.size).toBe(50);
    // Only the hooks under way at the crash are replayed twice; none written before is redone otherwise.
    expect(writtenAfter.filter((d) => writtenBefore.has(d))).toEqual([]);
    expect(result).toEqual({ replayed: all.length - 50, deadLettered: 0 });
    expect(new Set([...writtenBefore, ...writtenAfter])).toEqual(new Set(all));
    for (const { stream } of hooks)
      expect(await getItem('streams', streamKey(stream))).toMatchObject({ status: 'PUBLISHING' });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('spilling while a drain runs', () => {
  it('loses no hook: each of 500 spilled during repeated drains is replayed exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spill-race-'));
    process.env.SPILL_DIR = dir;
    const replayed: string[] = [];
    const record = async (hook: SpilledHook) => {
      replayed.push(hook.digest);
    };
    const hooks = Array.from({ length: 500 }, (_, i) => JSON.parse(spilled(`S${i}`).line) as SpilledHook);

    let spilling = true;
    const drains = (async () => {
      while (spilling) {
        await drainLocalSpill(dir, record, isDependencyFailure);
        // Let the appends' file I/O run between drains.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(hooks.map((hook) => spill(hook)));
    spilling = false;
    await drains;
    await drainLocalSpill(dir, record, isDependencyFailure);

    expect(replayed.sort()).toEqual(hooks.map((h) => h.digest).sort());
  });
});

describe('the spill replayer function', () => {
  it('writes the good records of a batch, dead-letters the poison one, and reports no failure for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spill-fn-'));
    process.env.SPILL_DIR = dir;
    const { handler } = await import('../../functions/spill-replayer.ts');
    const good = spilled('PUBLISHING');
    const poison = poisonSpilled();
    const event = {
      Records: [good.line, poison.line, 'not json'].map((body, i) => ({ messageId: `m${i}`, body })),
    } as unknown as SQSEvent;

    const response = await handler(event);

    expect(response.batchItemFailures).toEqual([]);
    expect(await getItem('streams', streamKey(good.stream))).toMatchObject({ status: 'PUBLISHING' });
    // The batch processor handles the records concurrently: the order is not the batch's.
    const deadLetters = deadLettersIn(dir)
      .map((d) => ({ hook: d.hook === poison.line ? 'poison' : d.hook, reason: d.reason.slice(0, 60) }))
      .sort((a, b) => a.hook.localeCompare(b.hook));
    expect(deadLetters).toEqual([
      { hook: 'not json', reason: expect.stringMatching(/^SyntaxError/) },
      { hook: 'poison', reason: expect.stringMatching(/mediaSessionId/) },
    ]);
  });
});
