import { describe, expect, it } from '@jest/globals';
import { describeTarget } from '../../shared/sender/send-targets.ts';
import { mapWithConcurrency, sendsFor, summarize } from '../../shared/sender/sender.ts';

const recipients = [
  { sessionId: 's1', nodeId: 'n1', appKey: 'a' },
  { sessionId: 's2', nodeId: 'n2', appKey: 'a' },
];

describe('sendsFor', () => {
  it('makes one send per recipient, each with an operationId of its own', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const sends = sendsFor(recipients, { hello: 1 }, 'app:a', at, 'job-1');
    expect(sends).toEqual([
      expect.objectContaining({ kind: 'send', sessionId: 's1', nodeId: 'n1', appKey: 'a', jobId: 'job-1' }),
      expect.objectContaining({ kind: 'send', sessionId: 's2', nodeId: 'n2', target: 'app:a' }),
    ]);
    expect(new Set(sends.map((send) => send.operationId)).size).toBe(2);
    expect(sends[0]?.requestedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(sendsFor(recipients, 1, 'app:a', at)[0]).not.toHaveProperty('jobId');
  });
});

describe('summarize', () => {
  it('counts each outcome', () => {
    const results = ['SENT', 'SENT', 'FAILED', 'GONE', 'QUEUED'].map((outcome, i) => ({
      sessionId: `s${i}`,
      operationId: `o${i}`,
      outcome,
    }));
    expect(summarize('user:u', results)).toEqual({
      target: 'user:u',
      targets: 5,
      sent: 2,
      failed: 1,
      gone: 1,
      queued: 1,
      results,
    });
  });
});

describe('mapWithConcurrency', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const results = await mapWithConcurrency(items, 4, async (item) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return item * 2;
    });
    expect(results).toEqual(items.map((i) => i * 2));
    expect(most).toBe(4);
  });

  it('handles fewer items than the limit, and none', async () => {
    expect(await mapWithConcurrency([1], 8, async (x) => x)).toEqual([1]);
    expect(await mapWithConcurrency([], 8, async (x) => x)).toEqual([]);
  });
});

describe('describeTarget', () => {
  it('labels each kind of target for the record', () => {
    expect(describeTarget({ sessionId: 's' })).toBe('session:s');
    expect(describeTarget({ userId: 'u' })).toBe('user:u');
    expect(describeTarget({ userId: 'u', appKey: 'a' })).toBe('user:u@a');
    expect(describeTarget({ streamName: 'n', appKey: 'a' })).toBe('stream:n@a');
    expect(describeTarget({ appKey: 'a' })).toBe('app:a');
  });
});
