import { describe, expect, it } from '@jest/globals';
import { isForward, isTerminal, rankOf } from '../../shared/state/lifecycle.ts';
import { SESSION_LIFECYCLE } from '../../shared/state/sessions.ts';
import { STREAM_LIFECYCLE } from '../../shared/state/streams.ts';

describe('the stream lifecycle', () => {
  it('moves forward from the request through live to an end', () => {
    expect(isForward(STREAM_LIFECYCLE, undefined, 'PENDING')).toBe(true);
    expect(isForward(STREAM_LIFECYCLE, 'PENDING', 'PUBLISHING')).toBe(true);
    expect(isForward(STREAM_LIFECYCLE, 'PUBLISHING', 'UNPUBLISHED')).toBe(true);
    expect(isForward(STREAM_LIFECYCLE, 'PLAYING', 'STOPPED')).toBe(true);
  });

  it.each(['UNPUBLISHED', 'STOPPED', 'FAILED'])('never leaves %s for a live status', (terminal) => {
    expect(isTerminal(STREAM_LIFECYCLE, terminal)).toBe(true);
    for (const live of ['PENDING', 'PUBLISHING', 'PLAYING']) {
      expect(isForward(STREAM_LIFECYCLE, terminal, live)).toBe(false);
    }
  });

  it('lets FAILED replace UNPUBLISHED but not the reverse, so either order ends FAILED', () => {
    expect(isForward(STREAM_LIFECYCLE, 'UNPUBLISHED', 'FAILED')).toBe(true);
    expect(isForward(STREAM_LIFECYCLE, 'FAILED', 'UNPUBLISHED')).toBe(false);
  });

  it('treats a repeated status as no step at all', () => {
    for (const status of Object.keys(STREAM_LIFECYCLE.ranks)) {
      expect(isForward(STREAM_LIFECYCLE, status, status)).toBe(false);
    }
  });

  it('ranks an unknown status below every known one', () => {
    expect(rankOf(STREAM_LIFECYCLE, 'RESIZE')).toBe(-1);
    expect(isForward(STREAM_LIFECYCLE, 'RESIZE', 'PENDING')).toBe(true);
    expect(isForward(STREAM_LIFECYCLE, 'PUBLISHING', 'RESIZE')).toBe(false);
  });

  it('orders two statuses of one rank the same way whichever comes first', () => {
    const [a, b] = ['PLAYING', 'PUBLISHING'] as const;
    expect(isForward(STREAM_LIFECYCLE, a, b)).not.toBe(isForward(STREAM_LIFECYCLE, b, a));
  });
});

describe('the session lifecycle', () => {
  it('ends DISCONNECTED or FAILED, and FAILED outranks DISCONNECTED', () => {
    expect(isTerminal(SESSION_LIFECYCLE, 'DISCONNECTED')).toBe(true);
    expect(isTerminal(SESSION_LIFECYCLE, 'FAILED')).toBe(true);
    expect(isTerminal(SESSION_LIFECYCLE, 'ESTABLISHED')).toBe(false);
    expect(isForward(SESSION_LIFECYCLE, 'DISCONNECTED', 'FAILED')).toBe(true);
    expect(isForward(SESSION_LIFECYCLE, 'DISCONNECTED', 'ESTABLISHED')).toBe(false);
  });
});
