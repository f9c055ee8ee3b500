import { describe, expect, it } from '@jest/globals';
import {
  isForward,
  isTerminal,
  mayStartGeneration,
  nextGenerationItem,
  rankOf,
} from '../../shared/state/lifecycle.ts';
import { PREVIOUS_GENERATIONS_KEPT, SESSION_LIFECYCLE } from '../../shared/state/sessions.ts';
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

describe('a session id used again', () => {
  const ended = {
    sessionId: 's1',
    status: 'DISCONNECTED',
    statusRank: 2,
    endedAt: '2026-12-01T10:00:00.000Z',
    endDetectedAt: '2026-12-01T10:00:05.000Z',
  };
  const connectAt = (at: string) => ({ at, newGenerationIfEndedBefore: at });

  it('starts a new generation only at a connect received strictly after the end was detected', () => {
    expect(mayStartGeneration(SESSION_LIFECYCLE, connectAt('2026-12-01T10:00:05.001Z'), ended)).toBe(true);
    // The connect write of a decision abandoned to its fail mode carries the refusal's own time.
    expect(mayStartGeneration(SESSION_LIFECYCLE, connectAt('2026-12-01T10:00:05.000Z'), ended)).toBe(false);
    // Between when the end happened and when it was detected, the session was still open here.
    expect(mayStartGeneration(SESSION_LIFECYCLE, connectAt('2026-12-01T10:00:01.000Z'), ended)).toBe(false);
  });

  it('never starts one over a session that has not ended, nor without being asked to', () => {
    const open = { ...ended, status: 'ESTABLISHED', statusRank: 1 };
    expect(mayStartGeneration(SESSION_LIFECYCLE, connectAt('2026-12-02T00:00:00.000Z'), open)).toBe(false);
    expect(mayStartGeneration(SESSION_LIFECYCLE, { at: '2026-12-02T00:00:00.000Z' }, ended)).toBe(false);
    expect(
      mayStartGeneration(
        { ...SESSION_LIFECYCLE, generations: undefined },
        connectAt('2026-12-02T00:00:00.000Z'),
        ended,
      ),
    ).toBe(false);
  });

  it('lets reconciliation start one only for an end detected before its grace', () => {
    const found = { at: '2026-12-01T10:01:00.000Z' };
    expect(
      mayStartGeneration(
        SESSION_LIFECYCLE,
        { ...found, newGenerationIfEndedBefore: '2026-12-01T10:00:30.000Z' },
        ended,
      ),
    ).toBe(true);
    expect(
      mayStartGeneration(
        SESSION_LIFECYCLE,
        { ...found, newGenerationIfEndedBefore: '2026-12-01T10:00:04.000Z' },
        ended,
      ),
    ).toBe(false);
  });

  it('keeps a summary of the ended generation, and only the last ones, counting the others', () => {
    const t = {
      key: { sessionId: 's1' },
      at: '2026-12-01T11:00:00.000Z',
      expiresAt: 1,
      constants: { nodeId: 'n2@127.0.0.2', userId: undefined },
    };
    const history = [{ status: 'PENDING', at: '2026-12-01T09:00:00.000Z' }];
    const first = nextGenerationItem(SESSION_LIFECYCLE, t, {
      ...ended,
      nodeId: 'n1@127.0.0.1',
      statusHistory: history,
      seenStatuses: new Set(['PENDING']),
      revoked: true,
    });
    expect(first).toEqual({
      sessionId: 's1',
      nodeId: 'n2@127.0.0.2',
      generation: 2,
      generationStartedAt: t.at,
      expiresAt: 1,
      previousGenerations: [
        {
          generation: 1,
          status: 'DISCONNECTED',
          nodeId: 'n1@127.0.0.1',
          endedAt: ended.endedAt,
          endDetectedAt: ended.endDetectedAt,
          statusHistory: history,
        },
      ],
    });

    const full = {
      ...ended,
      generation: PREVIOUS_GENERATIONS_KEPT + 3,
      earlierGenerationsDropped: 2,
      previousGenerations: Array.from({ length: PREVIOUS_GENERATIONS_KEPT }, (_, i) => ({
        generation: i + 3,
      })),
    };
    const next = nextGenerationItem(SESSION_LIFECYCLE, t, full);
    expect(next.generation).toBe(PREVIOUS_GENERATIONS_KEPT + 4);
    expect(next.earlierGenerationsDropped).toBe(3);
    expect((next.previousGenerations as { generation: number }[]).map((g) => g.generation)).toEqual(
      Array.from({ length: PREVIOUS_GENERATIONS_KEPT }, (_, i) => i + 4),
    );
  });
});

describe('the per-node index', () => {
  it('holds a stream from its request (PENDING) on, and a session from connect on', () => {
    expect(STREAM_LIFECYCLE.nodeFromRank).toBe(rankOf(STREAM_LIFECYCLE, 'PENDING'));
    expect(SESSION_LIFECYCLE.nodeFromRank ?? SESSION_LIFECYCLE.liveFromRank).toBe(
      rankOf(SESSION_LIFECYCLE, 'PENDING'),
    );
  });
});
