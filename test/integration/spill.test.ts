/**
 * The spill never blocks and never drops: each spilled hook is replayed on its own against DynamoDB
 * Local; one that can never be written (its handler or DynamoDB refuses it), or a line torn by a
 * crash mid-write, is moved to the dead-letter file with its reason, and every hook behind it is
 * still written. A dependency that is
 * down ends the pass and keeps the rest, in order, for the next one. The spill replayer function
 * (SQS in AWS) follows the same rules.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { replaySpilled } from '../../shared/http/replay.ts';
import { drainLocalSpill, type SpilledHook, spill } from '../../shared/http/spill.ts';
import { isDependencyFailure } from '../../shared/kernel/budget.ts';
import { streamKey } from '../../shared/state/streams.ts';
import { FakeWcs } from '../support/fake-wcs.ts';
import { getItem } from '../support/tables.ts';

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
    const deadLetters = deadLettersIn(dir);
    expect(deadLetters.map((d) => d.hook === poison.line || d.hook)).toEqual([torn, true]);
    expect(deadLetters[0]?.reason).toMatch(/not a spilled hook/);
    expect(deadLetters[1]?.reason).toMatch(/mediaSessionId/);
    expect(existsSync(join(dir, 'spill.jsonl'))).toBe(false);
  });

  it('keeps, in order, every hook from the first whose dependency is down, for the next pass', async () => {
    const hooks = Array.from({ length: 4 }, () => spilled('PUBLISHING'));
    const dir = spillDirWith(hooks.map((h) => h.line));
    let calls = 0;
    const downFromTheSecond = async (hook: SpilledHook) => {
      if (++calls >= 2) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await replaySpilled(hook);
    };

    const result = await drainLocalSpill(dir, downFromTheSecond, isDependencyFailure);

    expect(result).toEqual({ replayed: 1, deadLettered: 0 });
    expect(readFileSync(join(dir, 'spill.jsonl'), 'utf8').trim().split('\n')).toEqual(
      hooks.slice(1).map((h) => h.line),
    );
    expect(deadLettersIn(dir)).toEqual([]);
    expect(await drainLocalSpill(dir, replaySpilled, isDependencyFailure)).toEqual({
      replayed: 3,
      deadLettered: 0,
    });
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
